// The workflow canvas: palette, drag and connect, per-node config forms from the engine's schemas, inline
// problems pinned on nodes, autosave of valid drafts with a conflict warning, undo/redo, copy/paste, auto
// layout, publish, export, and a run whose nodes light up live.
import { ActionIcon, Alert, Badge, Button, Drawer, Group, Modal, ScrollArea, Stack, Text, Textarea, TextInput, Title, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { ApiError, request } from "../api/client";
import type { DslNode, DslWorkflow, NodeType, Problem, Variables } from "../api/workflow";
import { ConfigForm } from "../canvas/ConfigForm";
import { absolutePosition, addNode, connect, containerAt, duplicate, moveNodes, removeEdges, removeNodes, toCanvas, updateNode, type CanvasNode } from "../canvas/graph";
import * as history from "../canvas/history";
import { autoLayout, needsLayout } from "../canvas/layout";
import { followRun, nodeStatuses, type RunEvent } from "../canvas/liveRun";
import { NodeCard } from "../canvas/NodeCard";
import { insertAtCursor } from "../components/CodeEditor";
import { Versions } from "../components/Versions";
import { useCan, useWorkspaceSlug } from "../session";

const NODE_TYPES = { dsl: NodeCard };
const DND_TYPE = "application/x-llmops-node-type";

interface WorkflowResource {
  name: string;
  slug: string;
  draft: DslWorkflow;
  latest_version_number: number | null;
  updated_at: string;
}

interface CheckResult {
  valid: boolean;
  problems: Problem[];
  handles: Record<string, string[]>;
  variables?: Variables;
  /** For the selected node: the upstream nodes it reads, with the outputs it reads (null: all of it). */
  reads?: Record<string, string[] | null>;
}

/** Edits the server has not stored (an invalid draft, a conflict) are kept in this browser until they are. */
const backupKey = (ws: string, slug: string) => `llmops:unsaved-draft:${ws}/${slug}`;
function readBackup(key: string): DslWorkflow | null {
  try {
    const kept = JSON.parse(localStorage.getItem(key) ?? "null") as Partial<DslWorkflow> | null;
    return kept && Array.isArray(kept.nodes) && Array.isArray(kept.edges) ? (kept as DslWorkflow) : null;
  } catch {
    return null; // not JSON (edited by hand, another version of the console): nothing to offer
  }
}

/** A hand-entered value: JSON when it parses (numbers, lists, objects), the text itself otherwise. */
export function enteredValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The values of a single-node run from the form's `node.output` fields (a whole node: `node`). */
export function nodeRunValues(fields: Record<string, string>, reads: Record<string, string[] | null>, startIds: Set<string>): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {};
  for (const [node, outputs] of Object.entries(reads)) {
    if (startIds.has(node)) continue;
    if (outputs === null) {
      const whole = enteredValue(fields[node] ?? "{}");
      values[node] = whole !== null && typeof whole === "object" && !Array.isArray(whole) ? (whole as Record<string, unknown>) : { value: whole };
    } else {
      values[node] = Object.fromEntries(outputs.map((o) => [o, enteredValue(fields[`${node}.${o}`] ?? "")]));
    }
  }
  return values;
}

function useNodeTypes() {
  return useQuery({
    queryKey: ["node-types"],
    queryFn: async () => (await (await request("/api/node-types/")).json()) as NodeType[],
    staleTime: Infinity,
  });
}

/** Config field errors of node `index` from the engine's problem paths (`nodes.3.config.model`). */
export function fieldErrors(problems: Problem[], index: number): Record<string, string[]> {
  const prefix = `nodes.${index}.config.`;
  const out: Record<string, string[]> = {};
  for (const p of problems) {
    if (!p.path.startsWith(prefix)) continue;
    const field = p.path.slice(prefix.length).split(".")[0] ?? "";
    (out[field] ??= []).push(p.message);
  }
  return out;
}

/** `wanted`, moved down until it overlaps no node (a new node never lands on top of another). */
export function freeSpot(workflow: DslWorkflow, wanted: { x: number; y: number }): { x: number; y: number } {
  const spot = { ...wanted };
  const overlaps = () => workflow.nodes.some((n) => n.position && Math.abs(n.position.x - spot.x) < 230 && Math.abs(n.position.y - spot.y) < 90);
  for (let i = 0; i < 200 && overlaps(); i += 1) spot.y += 100;
  return spot;
}

function Palette({ types, onAdd, disabled }: { types: NodeType[]; onAdd: (type: NodeType) => void; disabled: boolean }) {
  const { t } = useTranslation();
  return (
    <Stack gap={4} w={170} aria-label={t("editor.palette")}>
      <Text fw={600} size="sm">{t("editor.palette")}</Text>
      <ScrollArea h="calc(100vh - 200px)">
        <Stack gap={4}>
          {types.map((type) => (
            <Tooltip key={type.type} label={type.description} multiline w={260} openDelay={400}>
              <Button
                variant="default"
                size="xs"
                justify="flex-start"
                disabled={disabled}
                draggable={!disabled}
                onDragStart={(e: DragEvent) => e.dataTransfer.setData(DND_TYPE, type.type)}
                onClick={() => onAdd(type)}
                data-testid={`palette-${type.type}`}
              >
                {type.type}
              </Button>
            </Tooltip>
          ))}
        </Stack>
      </ScrollArea>
    </Stack>
  );
}

function VariablesList({ variables }: { variables: Variables | undefined }) {
  const { t } = useTranslation();
  if (!variables) return null;
  const entries = Object.entries(variables).flatMap(([root, outputs]) =>
    outputs === null ? [`${root}.*`] : Object.keys(outputs).map((name) => `${root}.${name}`),
  );
  return (
    <Stack gap={4}>
      <Text size="sm" fw={500}>{t("editor.variables")}</Text>
      <Group gap={4}>
        {entries.map((name) => (
          <Badge
            key={name}
            variant="light"
            style={{ cursor: "pointer", textTransform: "none" }}
            component="button"
            aria-label={`${t("editor.insert")} {{ ${name} }}`}
            onClick={() => {
              const text = `{{ ${name} }}`;
              if (insertAtCursor(text)) return; // into the template being edited, at its cursor
              void navigator.clipboard?.writeText(text);
              notifications.show({ message: `${t("editor.copied")}: ${text}` });
            }}
          >
            {name}
          </Badge>
        ))}
      </Group>
    </Stack>
  );
}

function NodeRunForm({ reads, startIds, fields, onField, disabled, onRun }: {
  reads: Record<string, string[] | null>;
  startIds: Set<string>;
  fields: Record<string, string>;
  onField: (key: string, value: string) => void;
  disabled: boolean;
  onRun: (reads: Record<string, string[] | null>, startIds: Set<string>) => void;
}) {
  const { t } = useTranslation();
  const entries = Object.entries(reads).flatMap(([node, outputs]) => (outputs === null ? [node] : outputs.map((o) => `${node}.${o}`)));
  return (
    <Stack gap={4} aria-label={t("editor.runNode")}>
      <Text size="sm" fw={500}>{t("editor.runNode")}</Text>
      <Text size="xs" c="dimmed">{entries.length ? t("editor.runNodeHint") : t("editor.runNodeNothing")}</Text>
      {entries.map((key) => (
        <Textarea
          key={key}
          size="xs"
          autosize
          maxRows={6}
          label={startIds.has(key.split(".")[0] ?? "") ? `${t("editor.inputs")}: ${key}` : key}
          value={fields[key] ?? ""}
          onChange={(e) => onField(key, e.currentTarget.value)}
          data-testid={`node-value-${key}`}
        />
      ))}
      <Button size="xs" variant="light" color="grape" disabled={disabled} onClick={() => onRun(reads, startIds)} data-testid="run-node">{t("editor.runNode")}</Button>
    </Stack>
  );
}

function Editor() {
  const { t } = useTranslation();
  const ws = useWorkspaceSlug();
  const { slug = "" } = useParams();
  const canEdit = useCan("editor");
  const queryClient = useQueryClient();
  const flow = useReactFlow();
  const base = `/api/workspaces/${ws}/workflows/${slug}/`;
  const nodeTypes = useNodeTypes();
  const typeByName = useMemo(() => new Map((nodeTypes.data ?? []).map((n) => [n.type, n])), [nodeTypes.data]);

  const [doc, setDoc] = useState<history.History<DslWorkflow> | null>(null);
  const [resource, setResource] = useState<WorkflowResource | null>(null);
  const [check, setCheck] = useState<CheckResult>({ valid: true, problems: [], handles: {} });
  const [saveState, setSaveState] = useState<"saved" | "dirty" | "saving" | "invalid" | "conflict">("saved");
  const [selected, setSelected] = useState<string | null>(null);
  const [flowNodes, setFlowNodes] = useState<CanvasNode[]>([]);
  const [flowEdges, setFlowEdges] = useState<Edge[]>([]);
  const [runEvents, setRunEvents] = useState<RunEvent[]>([]);
  const [runId, setRunId] = useState<string | null>(null);
  const [runIsDebug, setRunIsDebug] = useState(false);
  const [runOpen, setRunOpen] = useState(false);
  const [publishOpen, setPublishOpen] = useState(false);
  const [message, setMessage] = useState("");
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [runMode, setRunMode] = useState<"latest" | "debug">("latest");
  const [nodeFields, setNodeFields] = useState<Record<string, string>>({});
  const [versionsOpen, setVersionsOpen] = useState(false);
  const [backup, setBackup] = useState<DslWorkflow | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const clipboard = useRef<{ nodes: DslNode[]; edges: DslWorkflow["edges"] } | null>(null);
  const etag = useRef<string>(""); // the stored draft's state as loaded or last saved (sent as If-Match)
  const dirty = useRef(false); // changed since the last save (a ref: saving must not re-run the check)

  const load = useCallback(async () => {
    const response = await request(base);
    const data = (await response.json()) as WorkflowResource;
    const draft = { ...data.draft, nodes: data.draft.nodes ?? [], edges: data.draft.edges ?? [] };
    setResource(data);
    etag.current = response.headers.get("ETag") ?? "";
    setDoc(history.start(needsLayout(draft) ? autoLayout(draft) : draft));
    const kept = readBackup(backupKey(ws, slug));
    setBackup(kept && JSON.stringify(kept) !== JSON.stringify(data.draft) ? kept : null);
    dirty.current = false;
    setSaveState("saved");
  }, [base, ws, slug]);
  useEffect(() => { void load(); }, [load]);

  const workflow = doc?.present ?? null;
  /** Every edit of the document (a change, undo, redo) goes through here and marks it for saving. */
  const edit = useCallback((step: (h: history.History<DslWorkflow>) => history.History<DslWorkflow>) => {
    setDoc((h) => (h ? step(h) : h));
    dirty.current = true;
    setSaveState("dirty");
  }, []);
  const change = useCallback((next: DslWorkflow) => edit((h) => history.push(h, next)), [edit]);

  // Check every change with the engine (debounced); save the draft when it is valid.
  useEffect(() => {
    if (!workflow) return;
    const timer = setTimeout(async () => {
      try {
        const response = await request(`/api/workspaces/${ws}/workflows/check/`, {
          method: "POST",
          body: JSON.stringify({ draft: workflow, ...(selected ? { node: selected } : {}) }),
        });
        const result = (await response.json()) as CheckResult;
        setCheck(result);
        (window as unknown as { __checked?: boolean }).__checked = true; // the console benchmark waits for it
        if (dirty.current && canEdit) {
          localStorage.setItem(backupKey(ws, slug), JSON.stringify(workflow)); // until the server has it
          if (!result.valid) { setSaveState("invalid"); return; }
          dirty.current = false;
          setSaveState("saving");
          // The server saves only while the draft is as we loaded it (If-Match); a 412 means someone else saved.
          const response = await request(base, { method: "PATCH", body: JSON.stringify({ draft: workflow }), headers: etag.current ? { "If-Match": etag.current } : {} });
          etag.current = response.headers.get("ETag") ?? "";
          setResource((await response.json()) as WorkflowResource);
          localStorage.removeItem(backupKey(ws, slug));
          setSaveState("saved");
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 412) { dirty.current = true; setSaveState("conflict"); }
        else if (e instanceof ApiError) { dirty.current = true; setError(e); setSaveState("invalid"); }
      }
    }, 500);
    return () => clearTimeout(timer);
  }, [workflow, selected, ws, slug, base, canEdit]);

  const statuses = useMemo(() => nodeStatuses(runEvents), [runEvents]);
  const handlesOf = useCallback(
    (node: DslNode) => check.handles[node.id] ?? (node.type === "end" ? [] : (typeByName.get(node.type)?.handles ?? ["source"])),
    [check.handles, typeByName],
  );
  const canvas = useMemo(
    () => (workflow ? toCanvas(workflow, check.problems, handlesOf, statuses) : { nodes: [], edges: [] as Edge[] }),
    [workflow, check.problems, handlesOf, statuses],
  );
  useEffect(() => {
    setFlowNodes((previous) => {
      const selection = new Set(previous.filter((n) => n.selected).map((n) => n.id));
      return canvas.nodes.map((n) => ({ ...n, selected: selection.has(n.id) }));
    });
  }, [canvas.nodes]);
  useEffect(() => {
    setFlowEdges((previous) => {
      const selection = new Set(previous.filter((e) => e.selected).map((e) => e.id));
      return canvas.edges.map((e) => ({ ...e, selected: selection.has(e.id) }));
    });
  }, [canvas.edges]);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => setFlowEdges((edges) => applyEdgeChanges(changes, edges)), []);

  const onNodesChange = useCallback((changes: NodeChange<CanvasNode>[]) => {
    setFlowNodes((nodes) => applyNodeChanges(changes, nodes));
    for (const c of changes) if (c.type === "select" && c.selected) setSelected(c.id);
  }, []);

  // Keyboard: undo/redo, copy/paste (not while typing in a field).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (target.closest("input, textarea, [contenteditable=true]") || !workflow || !canEdit) return;
      const mod = event.ctrlKey || event.metaKey;
      if (mod && event.key.toLowerCase() === "z") { event.preventDefault(); edit(event.shiftKey ? history.redo : history.undo); }
      else if (mod && event.key.toLowerCase() === "y") { event.preventDefault(); edit(history.redo); }
      else if (mod && event.key.toLowerCase() === "c") {
        const ids = new Set(flowNodes.filter((n) => n.selected).map((n) => n.id));
        clipboard.current = { nodes: workflow.nodes.filter((n) => ids.has(n.id)), edges: workflow.edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
      } else if (mod && event.key.toLowerCase() === "v" && clipboard.current?.nodes.length) {
        change(duplicate(workflow, clipboard.current.nodes, clipboard.current.edges));
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [workflow, flowNodes, change, edit, canEdit]);

  const add = (type: NodeType, position?: { x: number; y: number }) => {
    if (!workflow) return;
    const center = position ?? freeSpot(workflow, flow.screenToFlowPosition({ x: window.innerWidth / 2, y: window.innerHeight / 2 }));
    // Dropped inside a container's box: the node joins its body (positions in a body are relative to the box).
    const containers = new Set((nodeTypes.data ?? []).filter((n) => n.container).map((n) => n.type));
    const parent = position ? containerAt(workflow, position, containers) : null;
    const origin = parent ? absolutePosition(workflow, parent) : { x: 0, y: 0 };
    change(addNode(workflow, type.type, type.default_config, { x: Math.round(center.x - origin.x), y: Math.round(center.y - origin.y) }, parent));
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const type = typeByName.get(event.dataTransfer.getData(DND_TYPE));
    if (type) add(type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  };

  const publish = async () => {
    try {
      await request(`${base}publish/`, { method: "POST", body: JSON.stringify({ message }) });
      const response = await request(base);
      const updated = (await response.json()) as WorkflowResource;
      setResource(updated);
      etag.current = response.headers.get("ETag") ?? "";
      setPublishOpen(false);
      setMessage("");
      notifications.show({ color: "green", message: `${t("editor.published")} v${updated.latest_version_number}` });
      void queryClient.invalidateQueries({ queryKey: [ws, "workflows"] });
    } catch (e) {
      if (e instanceof ApiError) setError(e);
    }
  };

  /** Follow a new run: its events replace the last run's in the same render (no stale status under its id). */
  const watch = (id: string, debug: boolean) => { setRunEvents([]); setRunIsDebug(debug); setRunId(id); };
  useEffect(() => {
    if (!runId) return;
    return followRun(runId, (event) => setRunEvents((events) => [...events, event]), () => undefined);
  }, [runId]);

  const startRun = async () => {
    try {
      const response = runMode === "debug"
        ? await request(`${base}debug-run/`, { method: "POST", body: JSON.stringify({ draft: workflow, inputs }) })
        : await request(`${base}run/`, { method: "POST", body: JSON.stringify({ version: "latest", inputs }) });
      const run = (await response.json()) as { id: string };
      setRunOpen(false);
      watch(run.id, runMode === "debug");
    } catch (e) {
      if (e instanceof ApiError) setError(e);
    }
  };

  /** Run the selected node alone on the entered values (the canvas's draft, saved or not). */
  const runNode = async (nodeId: string, reads: Record<string, string[] | null>, startIds: Set<string>) => {
    const startInputs = Object.fromEntries(
      Object.entries(reads).filter(([node]) => startIds.has(node)).flatMap(([node, names]) => (names ?? []).map((n) => [n, enteredValue(nodeFields[`${node}.${n}`] ?? "")])),
    );
    try {
      const response = await request(`${base}debug-run/`, {
        method: "POST",
        body: JSON.stringify({ draft: workflow, node: nodeId, inputs: startInputs, values: nodeRunValues(nodeFields, reads, startIds) }),
      });
      watch(((await response.json()) as { id: string }).id, true);
    } catch (e) {
      if (e instanceof ApiError) setError(e);
    }
  };

  if (!workflow || !resource) return <Text>{t("app.loading")}</Text>;
  const selectedIndex = workflow.nodes.findIndex((n) => n.id === selected);
  const selectedNode = selectedIndex >= 0 ? workflow.nodes[selectedIndex] : undefined;
  const selectedType = selectedNode ? typeByName.get(selectedNode.type) : undefined;
  const orphanProblems = check.problems.filter((p) => !p.node_id);
  const runFinished = runEvents.find((e) => e.type === "run_finished");
  const stateLabel = { saved: t("editor.savedAt"), dirty: t("editor.unsaved"), saving: t("editor.saving"), invalid: t("editor.cannotSave"), conflict: t("editor.unsaved") }[saveState];

  return (
    <Stack gap="xs" h="calc(100vh - 90px)">
      <Group justify="space-between">
        <Group>
          <Title order={3}>{resource.name}</Title>
          <Badge variant="light" color={saveState === "saved" ? "green" : saveState === "invalid" ? "red" : "yellow"} data-testid="save-state">{stateLabel}</Badge>
          {resource.latest_version_number ? <Badge variant="outline">v{resource.latest_version_number}</Badge> : null}
        </Group>
        <Group gap="xs">
          <ActionIcon variant="default" aria-label={t("editor.undo")} disabled={!doc?.past.length || !canEdit} onClick={() => edit(history.undo)}>↶</ActionIcon>
          <ActionIcon variant="default" aria-label={t("editor.redo")} disabled={!doc?.future.length || !canEdit} onClick={() => edit(history.redo)}>↷</ActionIcon>
          <Button variant="default" size="xs" disabled={!canEdit} onClick={() => change(autoLayout({ ...workflow, nodes: workflow.nodes.map((n) => ({ ...n, position: null })) }))}>{t("editor.layout")}</Button>
          <Button variant="default" size="xs" component="a" href={`${base}export/`}>{t("common.export")}</Button>
          <Button variant="default" size="xs" onClick={() => setVersionsOpen(true)}>{t("common.versions")}</Button>
          <Tooltip label={t("editor.debugRunHint")} multiline w={260}>
            <Button size="xs" variant="light" color="grape" disabled={!canEdit || !check.valid} onClick={() => { setRunMode("debug"); setRunOpen(true); }} data-testid="debug-run">{t("editor.debugRun")}</Button>
          </Tooltip>
          <Button size="xs" variant="light" disabled={!resource.latest_version_number} onClick={() => { setRunMode("latest"); setRunOpen(true); }}>{t("prompts.run")}</Button>
          <Button size="xs" disabled={!canEdit || saveState !== "saved" || !check.valid} onClick={() => setPublishOpen(true)}>{t("common.publish")}</Button>
        </Group>
      </Group>
      {!canEdit && <Alert color="gray" p="xs">{t("common.readOnly")}</Alert>}
      {saveState === "conflict" && (
        <Alert color="orange" role="alert" p="xs">
          {t("editor.conflict")} <Button size="xs" variant="subtle" onClick={() => void load()}>{t("editor.reload")}</Button>
        </Alert>
      )}
      {error && <Alert color="red" role="alert" p="xs" withCloseButton onClose={() => setError(null)}>{error.message}</Alert>}
      {backup && canEdit && (
        <Alert color="blue" p="xs" data-testid="unsaved-backup">
          {t("editor.backup")}{" "}
          <Button size="xs" variant="subtle" onClick={() => { change(backup); setBackup(null); }}>{t("common.restore")}</Button>
          <Button size="xs" variant="subtle" color="gray" onClick={() => { localStorage.removeItem(backupKey(ws, slug)); setBackup(null); }}>{t("editor.discard")}</Button>
        </Alert>
      )}
      {runId && (
        <Alert color={runFinished ? (runFinished.status === "succeeded" ? "green" : "red") : "blue"} p="xs" data-testid="run-banner">
          <Link to={`/w/${ws}/runs/${runId}`}>{runId.slice(0, 8)}</Link>{runIsDebug ? ` · ${t("runs.debug")}` : ""} · {runFinished ? String(runFinished.status) : t("runs.live")}
          {runFinished?.error ? ` · ${String((runFinished.error as { message?: string }).message ?? "")}` : ""}
        </Alert>
      )}
      <Group align="stretch" gap="xs" style={{ flex: 1, minHeight: 0 }} wrap="nowrap">
        <Palette types={nodeTypes.data ?? []} onAdd={(type) => add(type)} disabled={!canEdit} />
        <div style={{ flex: 1, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 8 }} onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="canvas">
          <ReactFlow
            nodes={flowNodes}
            edges={flowEdges}
            onEdgesChange={onEdgesChange}
            nodeTypes={NODE_TYPES}
            onNodesChange={onNodesChange}
            onNodeDragStop={(_, __, nodes) => change(moveNodes(workflow, new Map(nodes.map((n) => [n.id, n.position]))))}
            onConnect={(c: Connection) => c.source && c.target && change(connect(workflow, c.source, c.target, c.sourceHandle ?? "source"))}
            onNodesDelete={(nodes) => { change(removeNodes(workflow, new Set(nodes.map((n) => n.id)))); setSelected(null); }}
            onEdgesDelete={(edges) => change(removeEdges(workflow, new Set(edges.map((e) => e.id))))}
            onPaneClick={() => setSelected(null)}
            nodesDraggable={canEdit}
            nodesConnectable={canEdit}
            deleteKeyCode={canEdit ? ["Delete", "Backspace"] : null}
            onlyRenderVisibleElements
            minZoom={0.1}
            fitView
          >
            <Background />
            <Controls />
            <MiniMap pannable zoomable />
          </ReactFlow>
        </div>
        <ScrollArea w={360} h="100%" type="auto">
          <Stack gap="sm" p="xs">
            {selectedNode ? (
              <>
                <Text fw={600}>{t("editor.node")}: {selectedNode.id} <Badge variant="light">{selectedNode.type}</Badge></Text>
                <TextInput label={t("editor.title")} value={selectedNode.title ?? ""} disabled={!canEdit} onChange={(e) => change(updateNode(workflow, selectedNode.id, { title: e.currentTarget.value }))} />
                {selectedType && (
                  <ConfigForm
                    key={selectedNode.id}
                    schema={selectedType.config_schema}
                    value={selectedNode.config ?? {}}
                    errors={fieldErrors(check.problems, selectedIndex)}
                    readOnly={!canEdit}
                    onChange={(config) => change(updateNode(workflow, selectedNode.id, { config }))}
                  />
                )}
                <VariablesList variables={check.variables} />
                {check.reads && canEdit && selectedNode.type !== "start" && !selectedNode.parent && (
                  <NodeRunForm
                    reads={check.reads}
                    startIds={new Set(workflow.nodes.filter((n) => n.type === "start").map((n) => n.id))}
                    fields={nodeFields}
                    onField={(key, value) => setNodeFields((prev) => ({ ...prev, [key]: value }))}
                    disabled={!check.valid}
                    onRun={(reads, startIds) => void runNode(selectedNode.id, reads, startIds)}
                  />
                )}
                {statuses[selectedNode.id] && (
                  <Stack gap={2}>
                    <Text size="sm" fw={500}>{t("editor.output")}</Text>
                    <Text component="pre" size="xs" style={{ whiteSpace: "pre-wrap" }}>
                      {JSON.stringify(runEvents.filter((e) => e.node_id === selectedNode.id && e.type === "node_finished").at(-1)?.outputs ?? {}, null, 2)}
                    </Text>
                  </Stack>
                )}
              </>
            ) : (
              <>
                <Text fw={600}>{t("editor.problems")}</Text>
                {check.problems.length === 0 && <Text c="dimmed" size="sm">{t("editor.noProblems")}</Text>}
                {check.problems.map((p, i) => (
                  <Text key={i} size="sm" c="red" style={{ cursor: p.node_id ? "pointer" : undefined }} onClick={() => p.node_id && setSelected(p.node_id)}>
                    {p.node_id ? `[${p.node_id}] ` : ""}{p.message}
                  </Text>
                ))}
                {orphanProblems.length > 0 && <Text size="xs" c="dimmed">{orphanProblems.length} workflow-level</Text>}
              </>
            )}
          </Stack>
        </ScrollArea>
      </Group>
      <Modal opened={publishOpen} onClose={() => setPublishOpen(false)} title={t("common.publish")}>
        <Stack>
          <TextInput label={t("editor.publishMessage")} value={message} onChange={(e) => setMessage(e.currentTarget.value)} data-autofocus />
          <Button onClick={publish}>{t("common.publish")}</Button>
        </Stack>
      </Modal>
      <Drawer opened={versionsOpen} onClose={() => setVersionsOpen(false)} position="right" size="xl" title={resource.name}>
        <Versions<DslWorkflow>
          base={base}
          queryKey={[ws, "workflows", slug]}
          canEdit={canEdit}
          textOf={(content) => JSON.stringify(content, null, 2)}
          onRestored={() => { setVersionsOpen(false); void load(); }}
        />
      </Drawer>
      <Modal opened={runOpen} onClose={() => setRunOpen(false)} title={runMode === "debug" ? `${t("editor.debugRun")} (${t("common.draft")})` : `${t("prompts.run")} v${resource.latest_version_number ?? ""}`}>
        <Stack>
          {(workflow.inputs ?? []).map((input) => (
            <TextInput key={input.name} label={input.name} required={input.required !== false} value={inputs[input.name] ?? ""} onChange={(e) => { const v = e.currentTarget.value; setInputs((prev) => ({ ...prev, [input.name]: v })); }} />
          ))}
          <Button onClick={startRun}>{t("prompts.run")}</Button>
        </Stack>
      </Modal>
    </Stack>
  );
}

export default function WorkflowEditor() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}
