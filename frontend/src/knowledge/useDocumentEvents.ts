// The workspace's websocket (`/ws/workspaces/<ws>/events/`, signed in by the session cookie) filtered to one
// knowledge base's `knowledge.document` events; reconnects after a lost connection. `live` is false while it is
// not open, so the caller polls instead.
import { useEffect, useRef, useState } from "react";
import type { DocumentProgressEvent } from "./types";

export function useDocumentEvents(ws: string, knowledgeBase: string, onEvent: (event: DocumentProgressEvent) => void): boolean {
  const [live, setLive] = useState(false);
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  }, [onEvent]);
  useEffect(() => {
    if (!ws || !knowledgeBase) return undefined;
    let closed = false;
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/ws/workspaces/${ws}/events/`);
      socket.onopen = () => setLive(true);
      socket.onmessage = (message) => {
        const event = JSON.parse(String(message.data)) as { type?: string; knowledge_base?: string };
        if (event.type === "knowledge.document" && event.knowledge_base === knowledgeBase) handler.current(event as DocumentProgressEvent);
      };
      socket.onclose = () => {
        setLive(false);
        if (!closed) retry = setTimeout(connect, 2000);
      };
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      socket?.close();
    };
  }, [ws, knowledgeBase]);
  return live;
}
