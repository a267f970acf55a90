import type { Segment } from "../api/generated/model";

/**
 * Text from the search's segments, the matching pieces in <mark>.
 * Segments are plain text: React escapes them, markup in mail stays text.
 */
export function Highlighted({ segments }: { segments: Segment[] }) {
  return (
    <>
      {segments.map((segment, index) => (segment.match ? <mark key={index}>{segment.text}</mark> : segment.text))}
    </>
  );
}

/** The segments' text when something is in it, else undefined (the caller shows the thread's own). */
export function hasText(segments: Segment[] | undefined): segments is Segment[] {
  return Boolean(segments?.some((segment) => segment.text.trim()));
}
