// Every visible string goes through i18next; en.json and fr.json hold the same keys
// (a test checks it). The language is the user's own (users/me), else the one chosen
// on this browser, else the browser's, else English.
import i18next, { type i18n } from "i18next";
import { initReactI18next } from "react-i18next";

import en from "./en.json";
import fr from "./fr.json";

export const LANGUAGES = ["en", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "facteur.language";

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

export function initialLanguage(): Language {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLanguage(stored)) return stored;
  } catch {
    // Storage can be off (private mode): fall back to the browser's languages.
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.slice(0, 2).toLowerCase();
    if (isLanguage(base)) return base;
  }
  return "en";
}

/** Switches the interface (and remembers it on this browser). */
export async function applyLanguage(instance: i18n, language: Language): Promise<void> {
  try {
    localStorage.setItem(STORAGE_KEY, language);
  } catch {
    // Not remembered on this browser; the account keeps it anyway.
  }
  document.documentElement.lang = language;
  await instance.changeLanguage(language);
}

export const resources = { en: { translation: en }, fr: { translation: fr } } as const;

export function createI18n(language: Language = initialLanguage()): i18n {
  const instance = i18next.createInstance();
  document.documentElement.lang = language;
  void instance.use(initReactI18next).init({
    resources,
    lng: language,
    fallbackLng: "en",
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
    initAsync: false,
  });
  return instance;
}
