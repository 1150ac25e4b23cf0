import { builder } from '../../graphql/builder.js';
import { NotFoundError } from '../../errors.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import type { SlackInstallation } from './slack-installation.entity.js';
import { getSlackInstallation, maskedSlackToken, slackWebhookUrl } from './slack.service.js';

/** The organisation's Slack installation, as the REST door shows it (token masked). Created by the REST code exchange. */
export const SlackInstallationRef = builder.objectRef<SlackInstallation>('SlackInstallation').implement({
  description: "The Slack app installed for an organisation through Slack's OAuth code exchange.",
  fields: (t) => ({
    id: t.exposeID('id'),
    accessToken: t.string({ description: 'Masked: only the last four characters are shown.', resolve: (s, _a, ctx) => maskedSlackToken(ctx, s) ?? '' }),
    teamId: t.exposeString('teamId', { nullable: true }),
    teamName: t.exposeString('teamName', { nullable: true }),
    channel: t.exposeString('channel', { nullable: true, description: "The incoming webhook's channel." }),
    channelId: t.exposeString('channelId', { nullable: true }),
    configurationUrl: t.exposeString('configurationUrl', { nullable: true }),
    webhookUrl: t.string({ nullable: true, description: 'The incoming-webhook URL (stored encrypted).', resolve: (s, _a, ctx) => slackWebhookUrl(ctx, s) }),
    installedById: t.id({ nullable: true, resolve: (s) => s.user?.id ?? null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.objectFields(OrganisationRef, (t) => ({
  slackInstallation: t.field({
    type: SlackInstallationRef,
    nullable: true,
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
