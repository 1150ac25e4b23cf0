import { builder } from '../../graphql/builder.js';
import { NotFoundError } from '../../errors.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import type { SlackInstallation } from './slack-installation.entity.js';
import { getSlackInstallation, maskedSlackToken, slackWebhookUrl } from './slack.service.js';

/** The organisation's Slack installation, as the REST door shows it (token masked). Created by the REST code exchange. */
export const SlackInstallationRef = builder.objectRef<SlackInstallation>('SlackInstallation').implement({
  description: "The Slack app installed for an organisation through Slack's OAuth code exchange.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the installation.' }),
    accessToken: t.string({ description: 'Masked: only the last four characters are shown.', resolve: (s, _a, ctx) => maskedSlackToken(ctx, s) ?? '' }),
    teamId: t.exposeString('teamId', { nullable: true, description: "The Slack workspace's id (`team.id` of Slack's answer)." }),
    teamName: t.exposeString('teamName', { nullable: true, description: "The Slack workspace's name." }),
    channel: t.exposeString('channel', { nullable: true, description: "The incoming webhook's channel." }),
    channelId: t.exposeString('channelId', { nullable: true, description: "The Slack id of the incoming webhook's channel." }),
    configurationUrl: t.exposeString('configurationUrl', { nullable: true, description: 'Where the webhook is managed in Slack.' }),
    webhookUrl: t.string({ nullable: true, description: 'The incoming-webhook URL (stored encrypted).', resolve: (s, _a, ctx) => slackWebhookUrl(ctx, s) }),
    installedById: t.id({ nullable: true, description: 'The user who made the code exchange; null if that user is gone.', resolve: (s) => s.user?.id ?? null }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the code exchange stored it.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.objectFields(OrganisationRef, (t) => ({
  slackInstallation: t.field({
    type: SlackInstallationRef,
    nullable: true,
    description:
      "The organisation's Slack installation, made by the REST code exchange (POST /slack/organisations/{id}/token-exchg); null when there is none.",
    resolve: async (org, _a, ctx) => {
      try {
        return await getSlackInstallation(ctx, org.id);
      } catch (error) {
        if (error instanceof NotFoundError) return null;
        throw error;
      }
    },
  }),
}));
