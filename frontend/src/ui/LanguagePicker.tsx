import { useTranslation } from "react-i18next";

import { applyLanguage, isLanguage, LANGUAGES, type Language } from "../i18n";

/** Switches the interface's language; `onChange` lets the caller save it too. */
export function LanguagePicker({ onChange }: { onChange?: (language: Language) => void }) {
  const { t, i18n } = useTranslation();
  return (
    <label className="language-picker">
      {t("common.language")}
      <select
        value={i18n.language}
        onChange={(event) => {
          const language = event.target.value;
          if (!isLanguage(language)) return;
          void applyLanguage(i18n, language);
          onChange?.(language);
        }}
      >
        {LANGUAGES.map((language) => (
          <option key={language} value={language}>
            {t(`languages.${language}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
