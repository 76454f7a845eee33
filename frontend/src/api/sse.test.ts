import { describe, expect, it } from "vitest";
import { parseFrames } from "./sse";

describe("server-sent events", () => {
  it("parses complete frames and keeps an incomplete one", () => {
    const { events, rest } = parseFrames('event: text_chunk\ndata: {"text":"你"}\n\nevent: usage\ndata: {"total_tokens":3}\n\nevent: do');
    expect(events).toEqual([
      { event: "text_chunk", data: '{"text":"你"}', id: undefined },
      { event: "usage", data: '{"total_tokens":3}', id: undefined },
    ]);
    expect(rest).toBe("event: do");
  });

  it("ignores comments and joins multi-line data", () => {
    expect(parseFrames(": ping\n\nid: 4\ndata: a\ndata: b\n\n").events).toEqual([{ event: "message", data: "a\nb", id: "4" }]);
  });
});
