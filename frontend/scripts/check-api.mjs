// Fails when src/api/generated/ is not what Orval makes from ../backend/openapi.yaml
// now: the schema changed and `npm run api` was not run (or the output was edited).
// Generates into a scratch copy of the layout, so the work tree is never touched.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const frontend = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const committed = join(frontend, "src/api/generated");
const scratch = mkdtempSync(join(tmpdir(), "facteur-orval-"));

function files(root) {
  const found = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.set(relative(root, path), readFileSync(path, "utf8"));
    }
  };
  walk(root);
  return found;
}

try {
  const work = join(scratch, "frontend");
  mkdirSync(join(work, "src/api"), { recursive: true });
  mkdirSync(join(scratch, "backend"));
  cpSync(join(frontend, "../backend/openapi.yaml"), join(scratch, "backend/openapi.yaml"));
  // Orval reads package.json to fit its output to the installed TanStack Query.
  for (const name of ["orval.config.ts", "package.json", "tsconfig.json"]) {
    cpSync(join(frontend, name), join(work, name));
  }
  cpSync(join(frontend, "src/api/http.ts"), join(work, "src/api/http.ts"));
  symlinkSync(join(frontend, "node_modules"), join(work, "node_modules"));
  execFileSync(join(frontend, "node_modules/.bin/orval"), ["--config", "orval.config.ts"], {
    cwd: work,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const want = files(join(work, "src/api/generated"));
  const have = files(committed);
  const stale = [...new Set([...want.keys(), ...have.keys()])]
    .filter((name) => want.get(name) !== have.get(name))
    .sort();
  if (stale.length > 0) {
    console.error("The generated API client is stale; run `npm run api` in frontend/. Differs:");
    for (const name of stale) console.error(`  src/api/generated/${name}`);
    process.exit(1);
  }
  console.log(`API client up to date with backend/openapi.yaml (${have.size} files).`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
