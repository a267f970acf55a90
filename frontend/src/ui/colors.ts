const HEX = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
export const DEFAULT_LABEL_COLOR = "#6b7280";

/** Label colours come from users: only #rgb / #rrggbb reach a style. */
export function safeColor(color: string | undefined | null): string {
  return color && HEX.test(color) ? color : DEFAULT_LABEL_COLOR;
}

/** Black or white, whichever reads better on `background` (a safe hex colour). */
export function textColorOn(background: string): string {
  let hex = background.slice(1);
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
  const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const luminance = 0.2126 * lin(r ?? 0) + 0.7152 * lin(g ?? 0) + 0.0722 * lin(b ?? 0);
  return luminance > 0.4 ? "#111827" : "#ffffff";
}
