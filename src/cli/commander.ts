/**
 * commander, loaded through `require`: it is a CommonJS package, and `import` of it first has Node's lexer
 * read it for its export names, about 15 ms of every command's start (139 against 124 ms, 2-core EPYC, 11
 * alternating runs). Each class is exported as a value and as its type, as the package's own declarations
 * give them.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander: typeof Commander = createRequire(import.meta.url)('commander');

export const Command = commander.Command;
export type Command = Commander.Command;
export const Option = commander.Option;
export type Option = Commander.Option;
export const Help = commander.Help;
export type Help = Commander.Help;
export const InvalidArgumentError = commander.InvalidArgumentError;
export type InvalidArgumentError = Commander.InvalidArgumentError;
export const CommanderError = commander.CommanderError;
export type CommanderError = Commander.CommanderError;
export type { OutputConfiguration } from 'commander';
