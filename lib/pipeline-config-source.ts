// Where the deployed pipeline's configuration comes from: the CDK context key
// `pipeline` (cdk.json or `-c pipeline='{…}'`) or a JSON file named by the
// context key `configFile`. Validated here, at synth, with the same schema the
// Lambdas use at run time (functions/shared/config.ts).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Node } from 'constructs';
import { type PipelineConfig, parsePipelineConfig } from '../functions/shared/config.js';
import { ConfigError } from '../functions/shared/errors.js';
import { PipelineConfigurationError } from './errors.js';

/** CDK context key holding the configuration object. */
export const PIPELINE_CONTEXT_KEY = 'pipeline';
/** CDK context key naming a JSON configuration file (wins over `pipeline`). */
export const CONFIG_FILE_CONTEXT_KEY = 'configFile';

export interface PipelineConfigSource {
  /** Value of the `pipeline` context key: an object, or a JSON string when given with `-c`. */
  readonly pipeline?: unknown;
  /** Value of the `configFile` context key: a path, relative to `baseDir`. */
  readonly configFile?: unknown;
  /** Directory relative paths are resolved against. @default process.cwd() */
  readonly baseDir?: string;
  /** Reads a file as UTF-8. @default fs.readFileSync */
  readonly readFile?: (path: string) => string;
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PipelineConfigurationError(`${origin} is not valid JSON (${error instanceof Error ? error.message : 'parse error'}): fix the syntax and run synth again.`, { cause: error });
  }
}

function validate(input: unknown, origin: string): PipelineConfig {
  try {
    return parsePipelineConfig(input, origin);
  } catch (error) {
    if (error instanceof ConfigError) throw new PipelineConfigurationError(error.message, { cause: error });
    throw error;
  }
}

/** Resolves and validates the pipeline configuration; throws PipelineConfigurationError naming the bad field. */
export function loadPipelineConfig(source: PipelineConfigSource): PipelineConfig {
  const readFile = source.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  if (source.configFile !== undefined) {
    if (typeof source.configFile !== 'string' || source.configFile.trim() === '') {
      throw new PipelineConfigurationError(`context "${CONFIG_FILE_CONTEXT_KEY}" must be a file path, e.g. -c ${CONFIG_FILE_CONTEXT_KEY}=pipeline.config.json`);
    }
    const path = resolve(source.baseDir ?? process.cwd(), source.configFile);
    let text: string;
    try {
      text = readFile(path);
    } catch (error) {
      throw new PipelineConfigurationError(`cannot read the configuration file ${path}: create it (see pipeline.config.example.json) or fix context "${CONFIG_FILE_CONTEXT_KEY}".`, { cause: error });
    }
    return validate(parseJson(text, `configuration file ${path}`), `configuration file ${path}`);
  }
  if (source.pipeline === undefined || source.pipeline === null) {
    throw new PipelineConfigurationError(
      `no pipeline configuration: set the context key "${PIPELINE_CONTEXT_KEY}" in cdk.json or pass -c ${CONFIG_FILE_CONTEXT_KEY}=pipeline.config.json (see pipeline.config.example.json).`,
    );
  }
  const input = typeof source.pipeline === 'string' ? parseJson(source.pipeline, `context "${PIPELINE_CONTEXT_KEY}"`) : source.pipeline;
  return validate(input, `context "${PIPELINE_CONTEXT_KEY}"`);
}

/** Reads the configuration from a construct's CDK context (`configFile` first, then `pipeline`). */
export function loadPipelineConfigFromContext(node: Node, baseDir?: string): PipelineConfig {
  const configFile: unknown = node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  const pipeline: unknown = node.tryGetContext(PIPELINE_CONTEXT_KEY);
  return loadPipelineConfig({ pipeline, configFile, ...(baseDir === undefined ? {} : { baseDir }) });
}
