// A node on the canvas: title, type, branch handles, its problems and its live run status.
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { CanvasNode } from "./graph";

const STATUS_COLORS: Record<string, string> = {
  running: "#228be6",
  succeeded: "#40c057",
  failed: "#fa5252",
  skipped: "#adb5bd",
};

function NodeCardView({ data, selected }: NodeProps<CanvasNode>) {
  const { dsl, problems, status, handles, box } = data;
  const border = problems.length ? "#fa5252" : status ? (STATUS_COLORS[status] ?? "#ced4da") : selected ? "#228be6" : "#ced4da";
  return (
    <div
      data-testid={`node-${dsl.id}`}
      data-status={status ?? ""}
      data-problems={problems.length}
      aria-label={`${dsl.type} node ${dsl.id}`}
      style={{
        width: box ? box.width : 220,
        height: box ? box.height : undefined,
        boxSizing: "border-box",
        background: box ? "rgba(241, 243, 245, 0.6)" : "white",
        border: `2px solid ${border}`,
        borderRadius: 8,
        padding: "6px 10px",
        fontSize: 12,
        boxShadow: selected ? "0 0 0 3px rgba(34,139,230,.25)" : undefined,
      }}
    >
      {dsl.type !== "start" && <Handle type="target" position={Position.Left} />}
      <div style={{ fontWeight: 600, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>{dsl.title || dsl.id}</div>
      <div style={{ color: "#868e96" }}>
        {dsl.type} · {dsl.id}
        {status ? ` · ${status}` : ""}
      </div>
      {problems.length > 0 && (
        <div role="alert" style={{ color: "#e03131", marginTop: 4 }} title={problems.join("\n")}>
          {problems[0]}
          {problems.length > 1 ? ` (+${problems.length - 1})` : ""}
        </div>
      )}
      {handles.map((handle, index) => (
        <Handle
          key={handle}
          id={handle}
          type="source"
          position={Position.Right}
          style={{ top: handles.length === 1 ? "50%" : `${((index + 1) * 100) / (handles.length + 1)}%` }}
          title={handle}
        />
      ))}
    </div>
  );
}

export const NodeCard = memo(NodeCardView);
