import { describe, expect, it } from "vitest";
import { keysFor, resolveVersion, type ApiKey } from "./api";
import { localToIso } from "./ApiKeys";
import { versionChoices } from "./DeploymentForm";

const versions = [
  { number: 1, labels: ["staging"], content: "one", message: "", author: null, created_at: "" },
  { number: 3, labels: ["production"], content: "three", message: "", author: null, created_at: "" },
  { number: 2, labels: [], content: "two", message: "", author: null, created_at: "" },
];

describe("versionChoices", () => {
  it("offers latest, then labels, then numbers newest first", () => {
    expect(versionChoices(versions)).toEqual(["latest", "production", "staging", "3", "2", "1"]);
  });
});

describe("resolveVersion", () => {
  it("resolves latest, a number and a label like the platform", () => {
    expect(resolveVersion(versions, "latest")?.number).toBe(3);
    expect(resolveVersion(versions, "2")?.number).toBe(2);
    expect(resolveVersion(versions, "staging")?.number).toBe(1);
    expect(resolveVersion(versions, "nope")).toBeNull();
    expect(resolveVersion([], "latest")).toBeNull();
  });
});

describe("keysFor", () => {
  it("keeps keys for all deployments and those naming this one", () => {
    const key = (id: number, deployments: string[]) => ({ id, deployments }) as unknown as ApiKey;
    expect(keysFor([key(1, []), key(2, ["bot"]), key(3, ["other"])], "bot").map((k) => k.id)).toEqual([1, 2]);
  });
});

describe("localToIso", () => {
  it("turns the browser's local date-time into an instant, empty into null", () => {
    expect(localToIso("")).toBeNull();
    expect(localToIso("2030-01-02T03:04")).toBe(new Date("2030-01-02T03:04").toISOString());
  });
});
