/**
 * Slash commands: what a spec declares in `slash_commands` ({command, description, url}) becomes a
 * command of every channel the integration is switched on for. Text a person writes (GraphQL
 * `sendMessage`, a respond.io contact through a custom channel) that starts with `/name` is a command:
 * it is POSTed to the command's url with the modifier body plus `command`, `text`, `user_id` and
 * `username`, once (no retry) within COMMAND_TIMEOUT_MS, as a Delivery of kind `command`; the answer's
 * `message` is posted into the channel as the integration's bot user. The command text itself is not
 * stored (as in Slack). A failure, a timeout or an unknown command is answered to the sender only
 * (CommandError), and nothing is posted.
 *
 * Machines never run commands: webhooks, return URLs, Rocket.Chat hooks and outgoing replies post text
 * starting with `/` as a plain message.
 */
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { Deps, Scope, WorkScope } from '../../context.js';
import { DomainError } from '../../errors.js';
import { groupBy } from '../../util.js';
import { parseInput } from '../../validation.js';
import { requireChannel } from '../channels/channels.service.js';
import { ChannelIntegration } from '../integrations/channel-integration.entity.js';
import { specCommands, type SlashCommand } from '../integrations/integration-spec.js';
import type { Integration } from '../integrations/integration.entity.js';
import { botName, integrationSigningKeys } from '../integrations/integrations.service.js';
import type { Message } from './message.entity.js';
import { postMessage, sendMessage } from './messages.service.js';
import { payloadSettings, settingsInForceFor } from '../settings/settings.service.js';

export const COMMAND_DELIVERY_KIND = 'command';
export const COMMAND_SOURCE = 'command';

export type CommandFailure = 'UNKNOWN_COMMAND' | 'FAILED' | 'TIMEOUT' | 'INVALID_ANSWER';

/** A command that could not be run; answered to the sender only, nothing is posted in the channel. */
export class CommandError extends DomainError {
  constructor(
    readonly reason: CommandFailure,
    readonly command: string,
    message: string,
    readonly integrationId: string | null = null,
    readonly deliveryId: string | null = null,
  ) {
    super(message);
  }
}

/** A command available in a channel: the spec's entry and the integration that holds it there. */
export interface ChannelCommand extends SlashCommand {
  integration: Integration;
}

/** A command an integration declares that another one, switched on first, already holds in the channel. */
export interface RefusedCommand extends SlashCommand {
  integration: Integration;
  heldBy: Integration;
}

/**
 * `/name rest` → { name (lower case), text (the rest, trimmed) }; null when the text is no command: it
 * must start with `/` and a name of letters, digits, `_` or `-` followed by a space or the end, so
 * `/usr/bin is a path` and `//x` are plain text (and so is anything starting with a space).
 */
export function parseCommand(text: string): { name: string; written: string; text: string } | null {
  const match = /^\/([A-Za-z0-9_-]{1,64})(?:\s+([\s\S]*))?$/.exec(text);
  if (!match) return null;
  return { name: match[1].toLowerCase(), written: `/${match[1]}`, text: (match[2] ?? '').trim() };
}

export interface CommandsOfChannel {
  commands: ChannelCommand[];
  refused: RefusedCommand[];
}

/**
 * The commands of channels (one query for all), from their active integrations in the order they were
 * switched on: when two declare one name, the first switched on holds it and the other's is refused.
 */
export async function channelCommandsFor(em: EntityManager, channelIds: readonly string[]): Promise<CommandsOfChannel[]> {
  const links = await em.find(
    ChannelIntegration,
    { channel: { $in: [...channelIds] }, integration: { isActive: true } },
    { populate: ['integration'], orderBy: { createdAt: 'asc', id: 'asc' } },
  );
  return groupBy(channelIds, links, (l) => l.channel.id).map((channelLinks) => {
    const held = new Map<string, ChannelCommand>();
    const refused: RefusedCommand[] = [];
    for (const { integration } of channelLinks) {
      for (const command of specCommands(integration.spec).commands) {
        const holder = held.get(command.name);
        if (holder) refused.push({ ...command, integration, heldBy: holder.integration });
        else held.set(command.name, { ...command, integration });
      }
    }
    return { commands: [...held.values()], refused };
  });
}

/** The commands of one channel (see channelCommandsFor). */
export async function channelCommands(em: EntityManager, channelId: string): Promise<CommandsOfChannel> {
  return (await channelCommandsFor(em, [channelId]))[0];
}

/**
 * Why links' commands are not all available in their channels, one sentence each (empty when none), for
 * `channelId:integrationId` keys, in their order.
 */
export async function linkWarningsFor(em: EntityManager, keys: readonly string[]): Promise<string[][]> {
  const pairs = keys.map((k) => k.split(':') as [string, string]);
  const channelIds = [...new Set(pairs.map(([c]) => c))];
  const byChannel = new Map((await channelCommandsFor(em, channelIds)).map((c, i) => [channelIds[i], c]));
  return pairs.map(([channelId, integrationId]) =>
    (byChannel.get(channelId)?.refused ?? [])
      .filter((r) => r.integration.id === integrationId)
      .map((r) => `${r.command} is not available in this channel: "${r.heldBy.name}" was switched on first and declares it too`),
  );
}

export interface CommandCall {
  channelId: string;
  organisationId: string;
  /** The whole text as written, starting with the command. */
  message: string;
  userId: string;
  username: string;
  threadId?: string | null;
}

/**
 * Run the command a person wrote, or return null when the text is no command. Resolves with the
 * integration's answer as posted into the channel; throws CommandError (unknown command, the call
 * failed, timed out or answered no `message`).
 */
export async function runCommand(ctx: WorkScope, call: CommandCall): Promise<Message | null> {
  const parsed = parseCommand(call.message);
  if (!parsed) return null;
  const { commands } = await channelCommands(ctx.em, call.channelId);
  const command = commands.find((c) => c.name === parsed.name);
  if (!command) {
    const known = commands.map((c) => c.command).join(', ');
    throw new CommandError(
      'UNKNOWN_COMMAND',
      parsed.written,
      `${parsed.written} is not a command of this channel (${known ? `its commands: ${known}` : 'it has none'}); nothing was sent. Start the text with a space to send it as a message.`,
    );
  }
  const { integration } = command;
  const [inForce] = await settingsInForceFor(ctx.em, [{ integration, channelId: call.channelId }]);
  const body = {
    message: call.message,
    channel_id: call.channelId,
    org_id: call.organisationId,
    thread_id: call.threadId ?? null,
    settings: payloadSettings(integration, inForce),
    command: command.command,
    text: parsed.text,
    user_id: call.userId,
    username: call.username,
  };
  const callId = ctx.deps.deliveries.callId();
  const signing = { id: callId, keys: integrationSigningKeys(ctx.deps, integration) };
  const outcome = await ctx.deps.deliveries.send({ url: command.url, body, timeoutMs: ctx.deps.config.commandTimeoutMs, signing });
  const answer = outcome.json as { message?: unknown } | undefined;
  const text = outcome.ok && typeof answer === 'object' && answer !== null && typeof answer.message === 'string' && answer.message.trim() ? answer.message : null;
  const attempt = {
    id: callId,
    kind: COMMAND_DELIVERY_KIND,
    organisationId: call.organisationId,
    channelId: call.channelId,
    targetId: integration.id,
    url: command.url,
    statusCode: outcome.statusCode,
    latencyMs: outcome.latencyMs,
    response: outcome.body,
  };
  if (text === null) {
    const [reason, why]: [CommandFailure, string] =
      outcome.failure === 'timeout'
        ? ['TIMEOUT', `did not answer within ${ctx.deps.config.commandTimeoutMs} ms`]
        : outcome.error
          ? ['FAILED', `failed: ${outcome.error}`]
          : ['INVALID_ANSWER', 'answered without a JSON "message" to post'];
    const delivery = await ctx.deps.deliveries.record(ctx.em, { ...attempt, error: outcome.error ?? why });
    throw new CommandError(reason, command.command, `${command.command} (${integration.name}) ${why}; nothing was posted.`, integration.id, delivery.id);
  }
  const posted = await postMessage(ctx, {
    channelId: call.channelId,
    message: text,
    username: botName(integration),
    eventName: 'command',
    status: 'success',
    source: COMMAND_SOURCE,
    // The author of the answer is the integration itself (as for its tokened return-URL posts).
    userId: integration.id,
    threadId: call.threadId ?? null,
    payload: { command: command.command, text: parsed.text, requested_by: call.userId },
  });
  await ctx.deps.deliveries.record(ctx.em, { ...attempt, error: null, messageId: posted.id });
  return posted;
}

const SendInput = z.object({ channelId: z.string(), message: z.string({ error: 'message must be a string' }).max(65_536, 'message is at most 65536 characters') }).loose();

/**
 * GraphQL `sendMessage`: a person writing in a channel. A command is run (its answer is what the
 * mutation returns; the command text is not stored); any other text is posted as the viewer.
 */
export async function sendMessageOrCommand(scope: Scope, input: Parameters<typeof sendMessage>[1]): Promise<Message> {
  const data = parseInput(SendInput, input);
  if (parseCommand(data.message)) {
    const channel = await requireChannel(scope, data.channelId);
    const viewer = scope.viewer!;
    const answer = await runCommand(scope, {
      channelId: channel.id,
      organisationId: channel.organisation.id,
      message: data.message,
      userId: viewer.id,
      username: input.username || viewer.name,
    });
    if (answer) return answer;
  }
  return sendMessage(scope, input);
}
