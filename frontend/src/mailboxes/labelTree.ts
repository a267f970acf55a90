import type { Label } from "../api/generated/model";

/** One level of the label tree: `Clients/ACME` is ACME under Clients. */
export interface LabelNode {
  /** The path up to here, `Clients/ACME`. */
  path: string;
  /** The last part, `ACME`. */
  name: string;
  /** The label with exactly this path; absent for a parent nobody created. */
  label?: Label;
  children: LabelNode[];
}

export function buildLabelTree(labels: readonly Label[]): LabelNode[] {
  const roots: LabelNode[] = [];
  const byPath = new Map<string, LabelNode>();
  const sorted = [...labels].sort((a, b) => a.name.localeCompare(b.name));
  for (const label of sorted) {
    const parts = label.name.split("/").filter((part) => part !== "");
    let siblings = roots;
    let path = "";
    parts.forEach((part, index) => {
      path = path ? `${path}/${part}` : part;
      let node = byPath.get(path);
      if (!node) {
        node = { path, name: part, children: [] };
        byPath.set(path, node);
        siblings.push(node);
      }
      if (index === parts.length - 1) node.label = label;
      siblings = node.children;
    });
  }
  const order = (nodes: LabelNode[]) => {
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    nodes.forEach((node) => order(node.children));
  };
  order(roots);
  return roots;
}

/** The full name of a label made inside `parent` ("" for the top level). */
export function nestedLabelName(parent: string, name: string): string {
  const clean = name.trim().replace(/^\/+|\/+$/g, "");
  return parent ? `${parent}/${clean}` : clean;
}
