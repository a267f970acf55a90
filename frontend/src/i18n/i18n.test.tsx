import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import en from "./en.json";
import fr from "./fr.json";

type Tree = { [key: string]: string | Tree };
const PLURAL = /_(zero|one|two|few|many|other)$/;

function keys(tree: Tree, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === "string" ? [`${prefix}${key}`.replace(PLURAL, "")] : keys(value, `${prefix}${key}.`),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "generated" || name === "test" ? [] : sourceFiles(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

describe("translations", () => {
  it("have the same keys in English and French, none empty", () => {
    expect([...new Set(keys(fr))].sort()).toEqual([...new Set(keys(en))].sort());
    const values = (tree: Tree): string[] =>
      Object.values(tree).flatMap((value) => (typeof value === "string" ? [value] : values(value)));
    expect(values(en).filter((value) => !value.trim())).toEqual([]);
    expect(values(fr).filter((value) => !value.trim())).toEqual([]);
  });

  it("cover every key the code asks for", () => {
    const known = new Set(keys(en));
    const src = join(__dirname, "..");
    const missing: string[] = [];
    for (const file of sourceFiles(src)) {
      for (const match of readFileSync(file, "utf8").matchAll(/\bt\(\s*["`]([a-zA-Z.]+)(\$\{[^}]+\})?["`]/g)) {
        const [, key = "", dynamic] = match;
        // `folders.${folder}`: some key under the prefix must exist.
        const ok = dynamic ? [...known].some((k) => k.startsWith(key)) : known.has(key);
        if (!ok) missing.push(`${file}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("render the app in French for an account that speaks French", async () => {
    server.use(http.get(`${API}/users/me/`, () => HttpResponse.json(fx.user({ language: "fr" }))));
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    expect(await screen.findByRole("heading", { name: "Boîte de réception" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Boîtes aux lettres" });
    expect(await within(nav).findByLabelText("2 conversations non lues")).toBeInTheDocument();
    expect(screen.getByText("Votre boîte de réception est vide.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Se déconnecter" })).toBeInTheDocument();
  });

  it("show the login page in the browser's chosen language", async () => {
    server.use(http.get(`${API}/users/me/`, () => HttpResponse.json({ detail: "no" }, { status: 401 })));
    renderApp("/login", { language: "fr" });
    expect(await screen.findByRole("heading", { name: "Connexion à Facteur" })).toBeInTheDocument();
    expect(await screen.findByLabelText("Mot de passe")).toBeInTheDocument();
  });

  it("switch language and save it on the account", async () => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    await screen.findByRole("heading", { name: "Inbox" });
    await userEvent.setup().selectOptions(screen.getByRole("combobox", { name: "Language" }), "fr");
    expect(await screen.findByRole("heading", { name: "Boîte de réception" })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe("fr");
    expect(requests.find((r) => r.method === "PATCH" && r.path === "/api/v1.0/users/me/")?.body).toEqual({
      language: "fr",
    });
  });
});
