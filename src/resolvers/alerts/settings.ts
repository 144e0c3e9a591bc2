import { config, type AlertSettings } from '../../config.ts';

let override: AlertSettings | undefined;

/** The alert settings of this process: config().alerts, unless setAlertSettings replaced them (tests). */
export function alertSettings(): AlertSettings {
  return override ?? config().alerts;
}

/** Replaces parts of the alert settings (tests); `undefined` restores config().alerts. */
export function setAlertSettings(changes: Partial<AlertSettings> | undefined): void {
  override = changes ? { ...config().alerts, ...changes } : undefined;
}
