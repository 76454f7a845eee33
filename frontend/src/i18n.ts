// English and Simplified Chinese UI text, switchable; the choice is remembered in this browser.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./locales/en";
import { zh } from "./locales/zh";

export const LANGUAGE_KEY = "llmops.language";

export function initialLanguage(): "en" | "zh" {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem(LANGUAGE_KEY) : null;
  if (saved === "en" || saved === "zh") return saved;
  return typeof navigator !== "undefined" && navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, zh: { translation: zh } },
  lng: initialLanguage(),
  fallbackLng: "en",
  interpolation: { escapeValue: false },
});

export function switchLanguage(): void {
  const next = i18n.language === "zh" ? "en" : "zh";
  localStorage.setItem(LANGUAGE_KEY, next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  void i18n.changeLanguage(next);
}

export default i18n;
