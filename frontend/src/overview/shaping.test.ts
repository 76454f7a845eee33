import { describe, expect, it } from "vitest";
import { budgetBars, failingDeployments, monthRange, waitingForReview } from "./shaping";

describe("failingDeployments", () => {
  it("keeps deployments with failures, worst rate first, named by slug", () => {
    const rows = failingDeployments(
      [
        { key: "1", totals: { runs: 10, failures: 0, failure_rate: 0 } },
        { key: "2", totals: { runs: 10, failures: 2, failure_rate: 0.2 } },
        { key: "3", totals: { runs: 4, failures: 2, failure_rate: 0.5 } },
      ],
      { "2": "support-bot" },
    );
    expect(rows.map((r) => r.label)).toEqual(["#3", "support-bot"]);
    expect(rows[0]).toMatchObject({ runs: 4, failures: 2, failureRate: 0.5 });
  });
});

describe("budgetBars", () => {
  it("draws active budgets by their most used key, over ones flagged", () => {
    const bars = budgetBars([
      { id: 1, name: "月度", cap: "100", currency: "CNY", status: { used_fraction: 0.425, resets_at: "2027-01-01T00:00:00+00:00" } },
      { id: 2, name: "key cap", cap: "5", metric: "tokens", status: { used_fraction: 1.7 } },
      { id: 3, name: "off", cap: "1", is_active: false, status: { used_fraction: 0.9 } },
    ]);
    expect(bars.map((b) => [b.name, b.percent, b.over, b.unit])).toEqual([
      ["key cap", 100, true, "tokens"],
      ["月度", 42.5, false, "CNY"],
    ]);
    expect(bars[1]?.resetsAt).toBe("2027-01-01T00:00:00+00:00");
  });
});

describe("waitingForReview", () => {
  it("lists completed runs without a decision, oldest first", () => {
    const runs = [
      { id: 1, name: "a", status: "completed", decision: "approved", created_at: "2026-12-01" },
      { id: 2, name: "b", status: "completed", decision: "pending", created_at: "2026-12-03" },
      { id: 3, name: "c", status: "running", decision: "pending", created_at: "2026-12-02" },
      { id: 4, name: "d", status: "completed", decision: "pending", created_at: "2026-12-02" },
    ];
    expect(waitingForReview(runs).map((r) => r.id)).toEqual([4, 2]);
  });
});

describe("monthRange", () => {
  it("spans the month so far, to the end of the current hour, in UTC", () => {
    expect(monthRange(new Date("2026-12-04T13:27:00Z"))).toEqual({ start: "2026-12-01T00:00:00.000Z", end: "2026-12-04T14:00:00.000Z" });
  });
});
