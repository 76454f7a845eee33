// Following a run's events over the websocket (`/ws/runs/<id>/?after=<seq>`), resuming from the last event
// after a lost connection.
export interface RunEvent {
  seq: number;
  type: string;
  node_id?: string;
  status?: string;
  outputs?: Record<string, unknown>;
  error?: { type?: string; message?: string } | null;
  text?: string;
  elapsed_ms?: number;
  [extra: string]: unknown;
}

export type NodeStatus = "running" | "succeeded" | "failed" | "skipped";

/** The status of each node after `events` (node_started -> running, node_finished -> its status). */
export function nodeStatuses(events: RunEvent[]): Record<string, NodeStatus> {
  const out: Record<string, NodeStatus> = {};
  for (const event of events) {
    if (!event.node_id || event.node_id.includes("#")) continue; // container body records
    if (event.type === "node_started") out[event.node_id] = "running";
    else if (event.type === "node_finished" || event.type === "node_restored") {
      const status = event.status === "succeeded" || event.status === "failed" || event.status === "skipped" ? event.status : "succeeded";
      out[event.node_id] = status;
    }
  }
  return out;
}

export function followRun(runId: string, onEvent: (event: RunEvent) => void, onState: (state: "open" | "lost" | "done") => void): () => void {
  let last = 0;
  let closed = false;
  let socket: WebSocket | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/runs/${runId}/?after=${last}`);
    socket.onopen = () => onState("open");
    socket.onmessage = (message) => {
      const event = JSON.parse(String(message.data)) as RunEvent;
      if (event.seq <= last) return;
      last = event.seq;
      onEvent(event);
      if (event.type === "run_finished") {
        closed = true;
        onState("done");
      }
    };
    socket.onclose = () => {
      if (closed) return;
      onState("lost");
      retry = setTimeout(connect, 1000);
    };
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    socket?.close();
  };
}
