/**
 * The engine version Berth reports. It follows the dockerd release whose behaviour it keeps
 * (20.10, Engine API 1.41), so that tools which gate on the engine version accept it; the
 * Berth release itself is BERTH_VERSION and shows in /version's Engine details.
 */
export const ENGINE_VERSION = '20.10.25';
export const BERTH_VERSION = '0.1.0';
export const GIT_COMMIT = process.env.BERTH_GIT_COMMIT ?? 'berth';
