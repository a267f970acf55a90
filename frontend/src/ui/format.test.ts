import { describe, expect, it } from "vitest";

import { safeColor, textColorOn } from "./colors";
import { formatListDate, formatSize, participantNames } from "./format";

describe("formatting", () => {
  const now = new Date("2026-11-24T15:00:00");

  it("dates a thread by time today, by day this year, in full before", () => {
    expect(formatListDate(new Date("2026-11-24T09:05:00").toISOString(), "en", now)).toMatch(/09:05/);
    expect(formatListDate(new Date("2026-03-02T09:05:00").toISOString(), "en", now)).toBe("Mar 2");
    expect(formatListDate(new Date("2026-03-02T09:05:00").toISOString(), "fr", now)).toBe("2 mars");
    expect(formatListDate(new Date("2024-03-02T09:05:00").toISOString(), "fr", now)).toBe("02/03/2024");
    expect(formatListDate("not a date", "en", now)).toBe("");
  });

  it("reads sender names from strings or objects", () => {
    expect(participantNames(["Alice", { name: "", email: "bob@x.org" }, { name: "Carol" }, 3])).toEqual([
      "Alice",
      "bob@x.org",
      "Carol",
    ]);
    expect(participantNames(null)).toEqual([]);
  });

  it("sizes files", () => {
    expect(formatSize(999, "en")).toBe("999 B");
    expect(formatSize(1500, "en")).toBe("1.5 kB");
    expect(formatSize(2_500_000, "fr")).toBe("2,5 MB");
  });

  it("lets only hex colours into styles", () => {
    expect(safeColor("#abc")).toBe("#abc");
    expect(safeColor("red;background:url(x)")).toBe("#6b7280");
    expect(textColorOn("#ffffff")).toBe("#111827");
    expect(textColorOn("#1f4e8c")).toBe("#ffffff");
  });
});
