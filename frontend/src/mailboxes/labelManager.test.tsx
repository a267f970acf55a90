import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import { nestedLabelName } from "./labelTree";

const CLIENTS = fx.label();
const ACME = fx.label({ id: "44444444-4444-4444-8444-444444444445", name: "Clients/ACME", color: "#2563eb" });

/** A small labels API: the list follows creations, renames and deletions. */
function serveLabels() {
  let labels = [CLIENTS, ACME];
  server.use(
    http.get(`${API}/labels/`, () => HttpResponse.json(labels)),
    http.post(`${API}/labels/`, async ({ request }) => {
      const body = (await request.json()) as { name: string; color: string };
      const created = fx.label({ id: "44444444-4444-4444-8444-444444444499", ...body });
      labels = [...labels, created];
      return HttpResponse.json(created, { status: 201 });
    }),
    http.patch(`${API}/labels/:id/`, async ({ params, request }) => {
      const body = (await request.json()) as { name?: string; color?: string };
      const old = labels.find((label) => label.id === params.id);
      if (!old) return HttpResponse.json({ detail: "Not found." }, { status: 404 });
      labels = labels.map((label) =>
        label.id === old.id
          ? { ...label, ...body }
          : body.name && label.name.startsWith(`${old.name}/`)
            ? { ...label, name: body.name + label.name.slice(old.name.length) }
            : label,
      );
      return HttpResponse.json(labels.find((label) => label.id === old.id));
    }),
    http.delete(`${API}/labels/:id/`, ({ params }) => {
      labels = labels.filter((label) => label.id !== params.id);
      return new HttpResponse(null, { status: 204 });
    }),
  );
}

async function openManager(path = `/mailboxes/${fx.MAILBOX_ID}/inbox`) {
  const user = userEvent.setup();
  const view = renderApp(path);
  await user.click(await screen.findByRole("button", { name: "Manage labels" }));
  const dialog = screen.getByRole("dialog", { name: "Labels of user1@example.local" });
  await within(dialog).findByRole("list", { name: "Labels" });
  return { user, dialog, ...view };
}

const tree = () => screen.getByRole("list", { name: "Labels" });

describe("nestedLabelName", () => {
  it("puts the name under its parent, without stray slashes", () => {
    expect(nestedLabelName("", " Urgent ")).toBe("Urgent");
    expect(nestedLabelName("Clients", "/Globex/")).toBe("Clients/Globex");
  });
});

describe("managing labels", () => {
  it("creates a label inside another, with its colour, and the tree shows it", async () => {
    serveLabels();
    const { user, dialog } = await openManager();
    expect(within(dialog).getByRole("textbox", { name: "Name" })).toHaveFocus();
    await user.type(within(dialog).getByRole("textbox", { name: "Name" }), "Globex");
    await user.selectOptions(within(dialog).getByRole("combobox", { name: "Inside" }), "Clients");
    await user.click(within(dialog).getByRole("button", { name: "Create" }));
    await waitFor(() =>
      expect(requests).toContainEqual(
        expect.objectContaining({
          method: "POST",
          path: "/api/v1.0/labels/",
          body: { mailbox: fx.MAILBOX_ID, name: "Clients/Globex", color: "#6b7280" },
        }),
      ),
    );
    await user.keyboard("{Escape}");
    const globex = await within(tree()).findByRole("link", { name: "Globex" });
    expect(within(tree()).getByRole("link", { name: "Clients" }).closest("li")).toContainElement(globex);
  });

  it("renames a parent (its children follow) and recolours", async () => {
    serveLabels();
    const { user, dialog } = await openManager();
    const name = within(dialog).getByRole("textbox", { name: /^Name of Clients / });
    await user.clear(name);
    await user.type(name, "Customers");
    const form = within(dialog).getByRole("form", { name: "Clients" });
    await user.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(requests).toContainEqual(
        expect.objectContaining({ method: "PATCH", path: `/api/v1.0/labels/${CLIENTS.id}/`, body: { name: "Customers" } }),
      ),
    );
    expect(await within(dialog).findByRole("form", { name: "Customers/ACME" })).toBeInTheDocument();

    const acme = within(dialog).getByRole("form", { name: "Customers/ACME" });
    // (a colour input has no typing: the test picks the colour as the picker would)
    fireEvent.change(within(acme).getByLabelText("Colour of Customers/ACME"), { target: { value: "#16a34a" } });
    await user.click(within(acme).getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(requests).toContainEqual(
        expect.objectContaining({ method: "PATCH", path: `/api/v1.0/labels/${ACME.id}/`, body: { color: "#16a34a" } }),
      ),
    );
    await user.keyboard("{Escape}");
    expect(await within(tree()).findByRole("link", { name: "Customers" })).toBeInTheDocument();
    expect(within(tree()).getByRole("link", { name: "ACME" }).querySelector(".swatch")).toHaveStyle({
      backgroundColor: "#16a34a",
    });
  });

  it("deletes only after a confirmation whose safe answer has the focus", async () => {
    serveLabels();
    const { user, dialog, router } = await openManager(`/mailboxes/${fx.MAILBOX_ID}/labels/${ACME.id}`);
    await user.click(within(dialog).getByRole("button", { name: "Delete the label Clients/ACME" }));
    const confirm = within(dialog).getByRole("group", { name: "Delete Clients/ACME?" });
    expect(within(confirm).getByRole("button", { name: "Keep it" })).toHaveFocus();
    await user.click(within(confirm).getByRole("button", { name: "Keep it" }));
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);

    await user.click(within(dialog).getByRole("button", { name: "Delete the label Clients/ACME" }));
    await user.click(within(dialog).getByRole("button", { name: "Delete the label" }));
    await waitFor(() =>
      expect(requests).toContainEqual(expect.objectContaining({ method: "DELETE", path: `/api/v1.0/labels/${ACME.id}/` })),
    );
    // The label on screen is gone: the inbox takes its place.
    await waitFor(() => expect(router.state.location.pathname).toBe(`/mailboxes/${fx.MAILBOX_ID}/inbox`));
    await waitFor(() => expect(within(dialog).queryByRole("form", { name: "Clients/ACME" })).not.toBeInTheDocument());
  });

  it("shows the API's reason for a refused name and keeps it", async () => {
    serveLabels();
    server.use(
      http.post(`${API}/labels/`, () =>
        HttpResponse.json({ detail: "Invalid input.", errors: { name: ["The label 'Clients' exists."] } }, { status: 400 }),
      ),
    );
    const { user, dialog } = await openManager();
    await user.type(within(dialog).getByRole("textbox", { name: "Name" }), "Clients{Enter}");
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("name: The label 'Clients' exists.");
    expect(within(dialog).getByRole("textbox", { name: "Name" })).toHaveValue("Clients");
  });

  it("is not offered to viewers of the mailbox", async () => {
    server.use(http.get(`${API}/mailboxes/`, () => HttpResponse.json([fx.mailbox({ role: "viewer" })])));
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    await screen.findByRole("list", { name: "Folders of user1@example.local" });
    expect(screen.queryByRole("button", { name: "Manage labels" })).not.toBeInTheDocument();
  });
});
