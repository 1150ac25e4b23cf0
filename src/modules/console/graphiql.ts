/**
 * What GraphiQL at /graphql shows on a first visit (before it has a stored session): where the token goes and a
 * few operations to start from, each runnable by name once the ids are filled in.
 */
export const GRAPHIQL_DEFAULT_QUERY = `# Switchboard's GraphQL API.
# Every operation needs an access token: open
# the Headers tab below and write
#
#   { "Authorization": "Bearer <your token>" }
#
# (the token \`npm start\` printed on its first
# start, or SWITCHBOARD_ADMIN_TOKEN).
# Subscriptions take the same header. Docs (top
# left) lists every type and field.
# The web console at /console does all this
# with forms.
#
# Run an operation with the run button,
# choosing it by name.

query Me {
  viewer { id name }
  organisations {
    id
    name
    channels(first: 20) { edges { node { id name webhookUrl } } }
  }
}

mutation CreateOrganisation {
  createOrganisation(input: { name: "Acme" }) {
    ... on MutationCreateOrganisationSuccess { data { id name } }
    ... on Error { message }
  }
}

mutation CreateChannel {
  createChannel(input: { organisationId: "<organisation id>", name: "general" }) {
    ... on MutationCreateChannelSuccess { data { id webhookUrl } }
    ... on Error { message }
  }
}

subscription LiveChannel {
  channelMessages(channelId: "<channel id>") { id username eventName status message createdAt }
}
`;
