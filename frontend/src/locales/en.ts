// English UI text. Keys mirror zh.ts (a test checks both have the same keys).
import { datasetsText } from "./datasets";
import { deploymentsText } from "./deployments";
import { evaluationsText } from "./evaluations";
import { knowledgeText } from "./knowledge";
import { overviewText } from "./overview";
import { toolsText } from "./tools";
import { usageText } from "./usage";

export const en = {
  app: { title: "LLMOps Console", language: "中文", signOut: "Sign out", offline: "Connection lost: retrying…", loading: "Loading…" },
  nav: { overview: "Overview", workflows: "Workflows", prompts: "Prompts", chains: "Chains", endpoints: "Model endpoints", knowledge: "Knowledge", deployments: "Deployments", runs: "Runs", evaluations: "Evaluations", usage: "Usage", members: "Members", workspace: "Workspace" },
  signIn: { title: "Sign in", username: "Username", password: "Password", submit: "Sign in", failed: "Sign-in failed" },
  workspaces: { title: "Workspaces", none: "You belong to no workspace yet: create one.", create: "Create workspace", name: "Name", slug: "Slug", role: "Role", switch: "Switch workspace" },
  common: { create: "Create", save: "Save", saved: "Saved", cancel: "Cancel", delete: "Delete", name: "Name", slug: "Slug", description: "Description", version: "Version", versions: "Versions", draft: "Draft", latest: "latest", updated: "Updated", publish: "Publish", message: "Message", restore: "Restore", labels: "Labels", status: "Status", actions: "Actions", empty: "Nothing here yet.", close: "Close", error: "Error", readOnly: "Read only: your role cannot change this.", open: "Open", import: "Import", export: "Export YAML" },
  members: { title: "Members and roles", user: "User", email: "Email", role: "Role", joined: "Joined", invite: "Invite", inviteEmail: "Email or username to invite", remove: "Remove" },
  endpoints: { title: "Model endpoints", empty: "No model endpoints yet. Add one to call a model.", create: "New endpoint", provider: "Provider", model: "Model", modelType: "Type", baseUrl: "Base URL", apiKey: "API key (write-only)", credentialsSet: "credentials set", noCredentials: "no credentials", prices: "Prices per 1M tokens (input / output)", currency: "Currency", test: "Test connection", testOk: "Connection works", testFailed: "Connection failed" },
  prompts: { title: "Prompts", empty: "No prompts yet.", create: "New prompt", template: "Template", variables: "Variables", model: "Model endpoint", playground: "Playground", run: "Run", stop: "Stop", output: "Output", tokens: "Tokens", latency: "Latency", cost: "Cost", compare: "Compare versions", from: "From", to: "To", diff: "Diff" },
  chains: { title: "Chains", empty: "No chains yet.", create: "New chain", definition: "Definition (JSON)" },
  workflows: { title: "Workflows", empty: "No workflows yet: create one or import a YAML or Dify file.", create: "New workflow", importYaml: "Import YAML", importDify: "Import Dify DSL", document: "Document", report: "Import report", imported: "Imported", importFailed: "Import failed" },
  editor: { palette: "Nodes", problems: "Problems", noProblems: "No problems", unsaved: "Unsaved changes", saving: "Saving…", savedAt: "Saved", cannotSave: "Fix the problems to save the draft", undo: "Undo", redo: "Redo", layout: "Auto layout", debugRun: "Debug run", inputs: "Inputs", config: "Configuration", node: "Node", title: "Title", id: "ID", variables: "Variables available here", insert: "Insert", publishMessage: "Publish message", published: "Published version", conflict: "Someone else saved this workflow since you opened it. Reload to see their changes.", reload: "Reload", runNode: "Run this node", output: "Output", debugRunHint: "Run the draft on the canvas as it is now, without publishing it. Debug runs are metered apart from production.", runNodeHint: "Enter what this node reads upstream (JSON or text); only this node runs.", runNodeNothing: "This node reads nothing upstream.", backup: "This browser kept changes to this workflow that were never saved (the draft had problems, or someone else saved first).", discard: "Discard", copied: "Copied" },
  versions: { none: "No versions yet: publish the draft to make version 1.", addLabel: "Add a label", labelName: "Label", gated: "{{label}} is gated: this version needs an approved evaluation run with a pass rate of at least {{rate}}.", gatedScore: "and a mean score of at least {{score}}" },
  runs: { title: "Runs", empty: "No runs yet.", workflow: "Workflow", status: "Status", started: "Started", elapsed: "Elapsed", tokens: "Tokens", cost: "Cost", cancel: "Cancel", rerun: "Rerun", timeline: "Node timeline", inputs: "Inputs", outputs: "Outputs", error: "Error", live: "Live", all: "All statuses", debug: "debug", knowledge: "Knowledge" },
  usage: usageText.en,
  deployments: deploymentsText.en,
  knowledge: knowledgeText.en,
  overview: overviewText.en,
  evaluations: evaluationsText.en,
  datasets: datasetsText.en,
  tools: toolsText.en,
};
export type Messages = typeof en;
