// The workflow DSL as the console edits it (the engine's pydantic models; node configs stay open records,
// their forms come from the node-type catalogue's JSON Schemas).

export interface DslNode {
  id: string;
  type: string;
  title?: string;
  config?: Record<string, unknown>;
  parent?: string | null;
  position?: { x: number; y: number } | null;
  [extra: string]: unknown;
}

export interface DslEdge {
  source: string;
  target: string;
  source_handle?: string;
  id?: string | null;
}

export interface DslWorkflow {
  schema_version?: string;
  name?: string;
  description?: string;
  mode?: "workflow" | "chat";
  inputs?: { name: string; type?: string; required?: boolean; [extra: string]: unknown }[];
  nodes: DslNode[];
  edges: DslEdge[];
  outputs?: { name: string; type?: string }[];
  [extra: string]: unknown;
}

export interface Problem {
  path: string;
  message: string;
  node_id: string | null;
  code: string;
}

export interface NodeType {
  type: string;
  description: string;
  container: boolean;
  config_schema: JsonSchema;
  default_config: Record<string, unknown>;
  handles: string[];
  outputs: Record<string, string> | null;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  [extra: string]: unknown;
}

/** Variables reachable at a node: `{root: {output: type} | null}` (null: outputs known at run time only). */
export type Variables = Record<string, Record<string, string> | null>;
