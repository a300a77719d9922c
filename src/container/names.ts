import { randomInt } from 'node:crypto';

/**
 * Generated container names, `adjective_noun` as Docker's are, from word lists of our own
 * (a harbour's vocabulary, since containers berth there).
 */
const ADJECTIVES = [
  'agile', 'amber', 'ardent', 'bold', 'brave', 'breezy', 'bright', 'brisk', 'calm', 'clever', 'coastal',
  'crisp', 'daring', 'deft', 'eager', 'earnest', 'fair', 'fleet', 'gentle', 'glad', 'golden', 'hardy',
  'humble', 'jolly', 'keen', 'kind', 'lively', 'loyal', 'lucid', 'merry', 'mighty', 'nimble', 'noble',
  'patient', 'plucky', 'quiet', 'rapid', 'salty', 'serene', 'sharp', 'silver', 'sleek', 'snug', 'spry',
  'steady', 'stout', 'sunny', 'swift', 'tidy', 'trusty', 'vivid', 'wary', 'windy', 'witty', 'zesty',
];
const NOUNS = [
  'anchor', 'barge', 'beacon', 'bollard', 'buoy', 'cable', 'capstan', 'cargo', 'channel', 'compass',
  'crane', 'current', 'cutter', 'deck', 'dinghy', 'dock', 'dredger', 'ferry', 'fender', 'galley',
  'gangway', 'harbor', 'hawser', 'helm', 'hull', 'jetty', 'keel', 'ketch', 'lantern', 'launch',
  'lighthouse', 'lock', 'mast', 'mooring', 'oar', 'pier', 'pilot', 'quay', 'rudder', 'sail', 'schooner',
  'sextant', 'skiff', 'slipway', 'sloop', 'stern', 'tide', 'tugboat', 'wake', 'wharf', 'winch', 'yawl',
];

export function generateName(retry = 0): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
  // As Docker does after collisions: a digit makes the space larger.
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

/** Docker's rule for a user-given name (after an optional leading '/'). */
export const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
