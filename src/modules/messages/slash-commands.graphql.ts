import { builder } from '../../graphql/builder.js';
import { ErrorInterface } from '../../graphql/errors.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { ChannelIntegrationRef, IntegrationRef } from '../integrations/integrations.graphql.js';
import { specCommands, type SlashCommand } from '../integrations/integration-spec.js';
import { CommandError, channelCommandsFor, linkWarningsFor, type ChannelCommand } from './slash-commands.js';

const CommandFailureEnum = builder.enumType('CommandFailure', {
  description: 'Why a slash command was not run or its answer not posted.',
  values: {
    UNKNOWN_COMMAND: { description: 'No integration switched on for the channel declares this command; nothing was sent.' },
    FAILED: { description: "The command's url could not be reached or answered an error status." },
    TIMEOUT: { description: 'The command did not answer within COMMAND_TIMEOUT_MS (3 s by default).' },
    INVALID_ANSWER: { description: 'The command answered 2xx without a JSON `message` to post.' },
  },
});

builder.objectType(CommandError, {
  name: 'CommandError',
  description:
    'A slash command was refused or failed. Only the sender sees this: nothing was posted in the channel, and the command text is not stored.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    reason: t.field({ type: CommandFailureEnum, description: 'Why it failed.', resolve: (e) => e.reason }),
    command: t.exposeString('command', { description: 'The command as written, e.g. `/weather`.' }),
    integrationId: t.exposeID('integrationId', { nullable: true, description: 'The integration that holds the command (null for an unknown one).' }),
    deliveryId: t.exposeID('deliveryId', { nullable: true, description: "The call in the channel's deliveries (kind `command`), when one was made." }),
  }),
});

const SlashCommandRef = builder.objectRef<SlashCommand>('SlashCommand').implement({
  description: "A slash command an integration's spec declares (`slash_commands`).",
  fields: (t) => ({
    name: t.exposeString('command', { description: 'The command with its slash, in lower case: `/weather`.' }),
    description: t.exposeString('description', { description: "The spec's description of the command." }),
    url: t.exposeString('url', { description: 'Where the command is POSTed.' }),
  }),
});

const ChannelCommandRef = builder.objectRef<ChannelCommand>('ChannelCommand').implement({
  description: 'A slash command available in a channel: start a message with it (`/name text`) to run it.',
  fields: (t) => ({
    name: t.exposeString('command', { description: 'The command with its slash, in lower case: `/weather`.' }),
    description: t.exposeString('description', { description: "The spec's description of the command." }),
    integration: t.field({ type: IntegrationRef, description: 'The integration that answers it.', resolve: (c) => c.integration }),
  }),
});

builder.objectField(ChannelRef, 'commands', (t) =>
  t.loadableList({
    type: ChannelCommandRef,
    description:
      'The slash commands available in this channel (for completion), from its active integrations. When two declare one command, the one switched on first holds it.',
    load: async (ids: string[], ctx) => (await channelCommandsFor(ctx.em, ids)).map((c) => c.commands),
    resolve: (c) => c.id,
  }),
);

builder.objectField(IntegrationRef, 'slashCommands', (t) =>
  t.field({
    type: [SlashCommandRef],
    description: "The slash commands the spec declares (entries that cannot work are left out and named in `warnings`).",
    resolve: (i) => specCommands(i.spec).commands,
  }),
);

builder.objectField(ChannelIntegrationRef, 'warnings', (t) =>
  t.loadableList({
    type: 'String',
    description:
      "What of this integration does not apply in this channel: its slash commands that another integration, switched on first, already declares there. Empty when none.",
    load: (keys: string[], ctx) => linkWarningsFor(ctx.em, keys),
    resolve: (l) => `${l.channel.id}:${l.integration.id}`,
  }),
);
