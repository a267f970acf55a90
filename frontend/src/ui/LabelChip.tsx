import { safeColor, textColorOn } from "./colors";

export function LabelChip({ name, color }: { name: string; color?: string }) {
  const background = safeColor(color);
  return (
    <span className="chip label-chip" style={{ backgroundColor: background, color: textColorOn(background) }}>
      {name}
    </span>
  );
}
