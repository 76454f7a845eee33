// A tool's JSON Schema as a simple form (flat string, number, integer, boolean and enum properties), the form's
// values as the call's arguments, and a schema violation's message put back on its field.

export type FieldKind = "string" | "number" | "integer" | "boolean" | "enum";

export interface FormField {
  name: string;
  kind: FieldKind;
  required: boolean;
  description: string;
  options: string[];
}

/** Form values: text for text and number inputs, true/false for checkboxes. */
export type FormValues = Record<string, string | boolean>;

const SIMPLE = new Set(["string", "number", "integer", "boolean"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The property's one simple type (`["string", "null"]` counts as string), or null. */
function simpleType(property: Record<string, unknown>): FieldKind | null {
  const declared = property.type;
  const types = (Array.isArray(declared) ? declared : [declared]).filter((t) => t !== "null");
  if (Array.isArray(property.enum) && property.enum.length > 0 && property.enum.every((v) => typeof v === "string")) {
    return "enum";
  }
  if (types.length !== 1 || typeof types[0] !== "string" || !SIMPLE.has(types[0])) return null;
  return types[0] as FieldKind;
}

/** The form fields of a schema, or null when some property needs the JSON editor (objects, arrays, unions). */
export function simpleFields(schema: unknown): FormField[] | null {
  if (!isObject(schema)) return null;
  if (schema.type !== undefined && schema.type !== "object") return null;
  const properties = schema.properties ?? {};
  if (!isObject(properties)) return null;
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === "string") : []);
  const fields: FormField[] = [];
  for (const [name, property] of Object.entries(properties)) {
    if (!isObject(property)) return null;
    const kind = simpleType(property);
    if (kind === null) return null;
    fields.push({
      name,
      kind,
      required: required.has(name),
      description: typeof property.description === "string" ? property.description : "",
      options: kind === "enum" ? (property.enum as string[]) : [],
    });
  }
  return fields;
}

/** The starting values of a form: empty text, unchecked boxes. */
export function initialValues(fields: FormField[]): FormValues {
  return Object.fromEntries(fields.map((f) => [f.name, f.kind === "boolean" ? false : ""]));
}

/** A JSON skeleton of the arguments for the JSON editor: each required property with an empty value. */
export function argumentsSkeleton(schema: unknown): string {
  if (!isObject(schema) || !isObject(schema.properties)) return "{}";
  const required = Array.isArray(schema.required) ? schema.required : [];
  const skeleton: Record<string, unknown> = {};
  for (const name of required) {
    if (typeof name !== "string") continue;
    const property = schema.properties[name];
    const type = isObject(property) ? (Array.isArray(property.type) ? property.type[0] : property.type) : undefined;
    skeleton[name] = type === "object" ? {} : type === "array" ? [] : type === "boolean" ? false : type === "number" || type === "integer" ? 0 : "";
  }
  return JSON.stringify(skeleton, null, 2);
}

export interface Arguments {
  arguments: Record<string, unknown>;
  /** Problems found before calling, by field (numbers that are not numbers). */
  errors: Record<string, string>;
}

/** The call's arguments from form values: empty optional fields are left out, optional unchecked boxes too
 * (the tool's own default applies), numbers are parsed. */
export function argumentsFrom(fields: FormField[], values: FormValues, messages: { notNumber: string; notInteger: string }): Arguments {
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.kind === "boolean") {
      if (value === true || field.required) args[field.name] = value === true;
      continue;
    }
    const text = typeof value === "string" ? value : "";
    if (text === "" && !field.required) continue;
    if (field.kind === "number" || field.kind === "integer") {
      const number = Number(text);
      if (text.trim() === "" || Number.isNaN(number)) errors[field.name] = messages.notNumber;
      else if (field.kind === "integer" && !Number.isInteger(number)) errors[field.name] = messages.notInteger;
      else args[field.name] = number;
      continue;
    }
    args[field.name] = text;
  }
  return { arguments: args, errors };
}

/** The server's schema-violation messages (`"pet_id: 'x' is not of type 'integer'"`, `"'expression' is a
 * required property"`) split into those of a form field and the rest. */
export function errorsOnFields(messages: string[], fields: FormField[]): { byField: Record<string, string>; general: string[] } {
  const names = new Set(fields.map((f) => f.name));
  const byField: Record<string, string> = {};
  const general: string[] = [];
  for (const message of messages) {
    const located = /^([^:/\s]+)(?:\/[^:]*)?: (.*)$/s.exec(message);
    const missing = /^'([^']+)' is a required property$/.exec(message);
    const name = located && names.has(located[1] ?? "") ? located[1] : missing && names.has(missing[1] ?? "") ? missing[1] : undefined;
    if (name !== undefined) byField[name] = located && name === located[1] ? (located[2] ?? message) : message;
    else general.push(message);
  }
  return { byField, general };
}
