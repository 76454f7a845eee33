import { describe, expect, it } from "vitest";
import { argumentsFrom, argumentsSkeleton, errorsOnFields, initialValues, simpleFields } from "./schemaForm";

const messages = { notNumber: "not a number", notInteger: "not an integer" };
const getPet = {
  type: "object",
  properties: {
    pet_id: { type: "integer" },
    verbose: { type: "boolean" },
    note: { type: ["string", "null"], description: "A note" },
    size: { type: "string", enum: ["small", "big"] },
  },
  required: ["pet_id"],
};

describe("simpleFields", () => {
  it("makes a field of each flat property, with its kind, requiredness, description and options", () => {
    expect(simpleFields(getPet)).toEqual([
      { name: "pet_id", kind: "integer", required: true, description: "", options: [] },
      { name: "verbose", kind: "boolean", required: false, description: "", options: [] },
      { name: "note", kind: "string", required: false, description: "A note", options: [] },
      { name: "size", kind: "enum", required: false, description: "", options: ["small", "big"] },
    ]);
  });

  it("falls back to the JSON editor for objects, arrays and unions", () => {
    expect(simpleFields({ type: "object", properties: { body: { type: "object", properties: {} } } })).toBeNull();
    expect(simpleFields({ type: "object", properties: { ids: { type: "array" } } })).toBeNull();
    expect(simpleFields({ type: "object", properties: { content: { type: ["string", "object"] } } })).toBeNull();
    expect(simpleFields({ type: "object", properties: { value: {} } })).toBeNull();
    expect(simpleFields("nonsense")).toBeNull();
  });

  it("gives an empty form to a tool without parameters", () => {
    expect(simpleFields({ type: "object", properties: {}, required: [] })).toEqual([]);
    expect(simpleFields({})).toEqual([]);
  });
});

describe("argumentsFrom", () => {
  const fields = simpleFields(getPet) ?? [];

  it("parses numbers and leaves out empty optional fields and unchecked optional boxes", () => {
    const values = { ...initialValues(fields), pet_id: "7" };
    expect(argumentsFrom(fields, values, messages)).toEqual({ arguments: { pet_id: 7 }, errors: {} });
    const all = { pet_id: "7", verbose: true, note: "hi", size: "big" };
    expect(argumentsFrom(fields, all, messages).arguments).toEqual({ pet_id: 7, verbose: true, note: "hi", size: "big" });
  });

  it("reports numbers that are not numbers on their field, before calling", () => {
    expect(argumentsFrom(fields, { pet_id: "seven" }, messages).errors).toEqual({ pet_id: "not a number" });
    expect(argumentsFrom(fields, { pet_id: "1.5" }, messages).errors).toEqual({ pet_id: "not an integer" });
    expect(argumentsFrom(fields, { pet_id: "" }, messages).errors).toEqual({ pet_id: "not a number" });
  });

  it("sends a required box as false when unchecked", () => {
    const required = simpleFields({ type: "object", properties: { on: { type: "boolean" } }, required: ["on"] }) ?? [];
    expect(argumentsFrom(required, initialValues(required), messages).arguments).toEqual({ on: false });
  });
});

describe("errorsOnFields", () => {
  const fields = simpleFields(getPet) ?? [];

  it("puts a located violation and a missing property on their field, the rest aside", () => {
    expect(
      errorsOnFields(
        ["pet_id: 'x' is not of type 'integer'", "'size' is a required property", "Additional properties are not allowed ('zz' was unexpected)"],
        fields,
      ),
    ).toEqual({
      byField: { pet_id: "'x' is not of type 'integer'", size: "'size' is a required property" },
      general: ["Additional properties are not allowed ('zz' was unexpected)"],
    });
  });

  it("keeps a violation of an unknown or nested place general", () => {
    expect(errorsOnFields(["body/name: 3 is not of type 'string'"], fields)).toEqual({ byField: {}, general: ["body/name: 3 is not of type 'string'"] });
  });
});

describe("argumentsSkeleton", () => {
  it("fills each required property with an empty value of its type", () => {
    const schema = { type: "object", properties: { body: { type: "object" }, n: { type: "integer" }, s: { type: "string" }, o: { type: "string" } }, required: ["body", "n", "s"] };
    expect(JSON.parse(argumentsSkeleton(schema))).toEqual({ body: {}, n: 0, s: "" });
    expect(argumentsSkeleton(null)).toBe("{}");
  });
});
