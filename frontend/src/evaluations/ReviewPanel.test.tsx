// The review view as a component (jsdom): a verdict moves to the next item and the view stays on that item when
// the list comes back without the reviewed one; an item another reviewer holds takes no verdict. The network is
// the only fake: fetch answers the lock and review calls as the server does.
import "../i18n";
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ReviewPanel } from "./ReviewPanel";
import type { ItemRow } from "./types";

function item(id: number, lock: Partial<ItemRow> = {}): ItemRow {
  return {
    id, item_id: `case-${id}`, repetition: 0, inputs: {}, expected: null, status: "scored", output: `out ${id}`, error: "", scores: [], score: 1,
    passed: true, verdict: null, human_score: null, comment: "", reviewed_by: null, assigned_to: null, locked_by: null, locked_until: null, ...lock,
  };
}

let calls: string[] = [];

beforeAll(() => {
  // Mantine reads the colour scheme through matchMedia and the autosize comment box listens to document.fonts;
  // jsdom has neither.
  Object.defineProperty(document, "fonts", { configurable: true, value: { addEventListener: () => {}, removeEventListener: () => {} } });
  Object.defineProperty(window, "matchMedia", {
    writable: true,
    value: (query: string) => ({ matches: false, media: query, onchange: null, addEventListener: () => {}, removeEventListener: () => {}, addListener: () => {}, removeListener: () => {}, dispatchEvent: () => false }),
  });
});

beforeEach(() => {
  calls = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string, init: RequestInit) => {
      calls.push(`${init.method} ${path}`);
      if (path.includes("/items/3/lock/")) {
        return new Response(JSON.stringify({ error: { code: "conflict", message: "ann is reviewing this item (until 16:18)." } }), { status: 409 });
      }
      return new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function wrap(children: ReactNode, client: QueryClient) {
  return (
    <MantineProvider>
      <QueryClientProvider client={client}>{children}</QueryClientProvider>
    </MantineProvider>
  );
}

const panelItem = () => screen.getByTestId("review-panel").getAttribute("data-item");

describe("the review view", () => {
  it("keeps the item it moved to when the list refetches without the reviewed one", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const first = [item(1), item(2), item(4)];
    const view = render(wrap(<ReviewPanel ws="team" runId="7" items={first} me="bob" onReviewed={() => {}} />, client));
    expect(panelItem()).toBe("case-1");
    await act(async () => {
      fireEvent.keyDown(window, { key: "p" });
    });
    await waitFor(() => expect(panelItem()).toBe("case-2"));
    expect(calls).toContain("POST /api/workspaces/team/evaluation-runs/7/items/1/review/");
    // "Not reviewed" refetched: case-1 left the list; by position the view would now be on case-4
    view.rerender(wrap(<ReviewPanel ws="team" runId="7" items={[item(2), item(4)]} me="bob" onReviewed={() => {}} />, client));
    expect(panelItem()).toBe("case-2");
    expect(screen.getByText(/1\/2/)).toBeTruthy();
  });

  it("takes no verdict on an item another reviewer holds, and skips it after a verdict", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const until = new Date(Date.now() + 600_000).toISOString();
    const items = [item(2), item(3, { locked_by: "ann", locked_until: until }), item(4)];
    render(wrap(<ReviewPanel ws="team" runId="7" items={items} me="bob" onReviewed={() => {}} />, client));
    await act(async () => {
      fireEvent.keyDown(window, { key: "p" });
    });
    await waitFor(() => expect(panelItem()).toBe("case-4")); // case-3 is ann's
    await act(async () => {
      fireEvent.keyDown(window, { key: "k" });
    });
    expect(panelItem()).toBe("case-3");
    await screen.findByText(/Locked by ann until/);
    expect(screen.getByRole("button", { name: "Pass (p)" }).hasAttribute("disabled")).toBe(true);
    await act(async () => {
      fireEvent.keyDown(window, { key: "p" });
    });
    expect(calls.filter((c) => c.includes("/items/3/review/"))).toEqual([]);
  });
});
