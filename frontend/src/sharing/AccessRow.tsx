// One access in a sharing dialog: who, their role (a menu when it may be changed),
// and a button taking it away.
import { useTranslation } from "react-i18next";

export function AccessRow<Role extends string>({
  who,
  detail,
  role,
  roles,
  roleLabel,
  editable,
  busy,
  onRole,
  onRemove,
}: {
  who: string;
  detail?: string;
  role: Role;
  roles: readonly Role[];
  roleLabel: (role: Role) => string;
  editable: boolean;
  busy: boolean;
  onRole: (role: Role) => void;
  onRemove: () => void;
}) {
  const { t } = useTranslation();
  return (
    <li className="access-row">
      <span className="access-who">
        {who}
        {detail && <span className="access-detail"> {detail}</span>}
      </span>
      {editable ? (
        <>
          <select
            aria-label={t("sharing.roleOf", { who })}
            value={role}
            disabled={busy}
            onChange={(event) => onRole(event.target.value as Role)}
          >
            {roles.map((option) => (
              <option key={option} value={option}>
                {roleLabel(option)}
              </option>
            ))}
          </select>
          <button type="button" disabled={busy} onClick={onRemove} aria-label={t("sharing.removeWho", { who })}>
            {t("sharing.remove")}
          </button>
        </>
      ) : (
        <span className="access-role">{roleLabel(role)}</span>
      )}
    </li>
  );
}
