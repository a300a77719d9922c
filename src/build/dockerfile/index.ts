/**
 * The Dockerfile front door: read a Dockerfile the way dockerd 20.10's classic builder does,
 * before any step runs. Everything a build needs to know about the file itself (stages, their
 * instructions, the escape token for the shell lexer, warnings to print) comes out of here;
 * variable substitution happens later, step by step, with expandInstruction and expandFrom.
 */
import { parseDockerfile } from './parser.js';
import { parseStages, selectTarget, type Dockerfile } from './instructions.js';
import type { EscapeToken } from './parser.js';

export { DockerfileParseError, parseDockerfile, type EscapeToken, type Node, type ParseResult } from './parser.js';
export { EXPANDED_INSTRUCTIONS, ShellLex } from './shell-lex.js';
export {
  expandFrom, expandInstruction, parseGoDuration, parseInstruction, parseStages, selectTarget,
  type ArgDefinition, type CommandLine, type Dockerfile, type Env, type HealthConfig, type Instruction,
  type InstructionOf, type KeyValue, type Source, type Stage,
} from './instructions.js';

export interface LoadedDockerfile extends Dockerfile {
  escapeToken: EscapeToken;
  warnings: string[];
  /** The `# syntax=` directive when present; the classic builder does not use it. */
  syntax?: string;
}

/**
 * Parses the Dockerfile's bytes and keeps the stages up to `target` ('' for all). Throws
 * InvalidParameter with dockerd's messages: empty file, `failed to parse <name>: ...`,
 * `dockerfile parse error line N: ...` (unknown instructions included), `failed to reach
 * build target X in Dockerfile`.
 */
export function loadDockerfile(content: string | Buffer, name = 'Dockerfile', target = ''): LoadedDockerfile {
  const parsed = parseDockerfile(content, name);
  const { stages, metaArgs } = parseStages(parsed);
  const out: LoadedDockerfile = {
    stages: selectTarget(stages, target),
    metaArgs,
    escapeToken: parsed.escapeToken,
    warnings: parsed.warnings,
  };
  if (parsed.syntax !== undefined) out.syntax = parsed.syntax;
  return out;
}
