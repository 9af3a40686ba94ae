/* demo.c - the demo tenant that `make run` starts with. */
#include "svc/svc.h"
#include "util/time.h"

static int seen(void *arg, const struct nd_target *t)
{
	return 0;
}

enum nd_err nd_svc_demo_seed(struct nd_store_conn *db, bool *seeded, struct nd_error *err)
{
	struct nd_principal operator;
	*seeded = false;
	enum nd_err e = nd_svc_operator(db, "default", &operator, err);
	if (e)
		return e;
	const struct nd_call call = {db, &operator, err}, *c = &call;
	e = nd_svc_target_get(c, "alice", seen, NULL);
	if (e != ND_ERR_NOT_FOUND)
		return e; /* already seeded, or a real failure */
	e = ND_OK;

	struct nd_target people[] = {
		{.id = "alice", .name = "Alice Martin", .email = "alice@example.com",
		 .attributes = "{\"plan\":\"pro\",\"locale\":\"fr-FR\"}"},
		{.id = "bob", .name = "Bob Stone", .email = "bob@example.com",
		 .attributes = "{\"plan\":\"free\"}"},
		{.id = "carol", .name = "Carol Diaz", .email = "carol@example.com"},
	};
	bool created;
	for (size_t i = 0; !e && i < sizeof people / sizeof people[0]; i++)
		e = nd_svc_target_put(c, &people[i], &created);
	int32_t segment;
	if (!e)
		e = nd_svc_segment_create(c, "early adopters", &segment);
	if (!e)
		e = nd_svc_member_put(c, segment, "alice");
	if (!e)
		e = nd_svc_member_put(c, segment, "bob");
	struct nd_campaign campaign = {.id = "onboarding", .name = "Onboarding"};
	if (!e)
		e = nd_svc_campaign_put(c, &campaign, &created);
	if (e)
		return e;

	int64_t now = nd_time_now_ms(), day = 86400000;
	static const char *const alice[] = {"alice"}, *const everyone[] = {"alice", "bob", "carol"};
	struct {
		struct nd_notification n;
		struct nd_recipients to;
		int64_t routed_at;
	} items[] = {
		{{.libelle = "Welcome to notifd", .body = "Your inbox is ready.", .url = "/welcome",
		  .type = "welcome", .action_type = 1, .campaign_id = "onboarding",
		  .screen_names = "[\"notifd\"]", .batch = "onboarding - round 1"},
		 {.targets = everyone, .ntargets = 3}, now - 21 * day},
		{{.libelle = "New feature for early adopters", .body = "Try the new feed first.",
		  .url = "/features/feed", .type = "announcement", .action_type = 8,
		  .screen_names = "[\"Product team\"]"},
		 {.segments = &segment, .nsegments = 1}, now - 2 * day},
		{{.libelle = "Bob commented on your idea", .body = "Hey there @Alice Martin",
		  .url = "/ideas/42#comments", .type = "ideacommentdetails", .action_type = 18,
		  .screen_names = "[\"Bob Stone\"]"},
		 {.targets = alice, .ntargets = 1}, now - 5 * 60000},
	};
	for (size_t i = 0; !e && i < sizeof items / sizeof items[0]; i++) {
		int64_t deliveries;
		items[i].n.date_started = items[i].routed_at;
		items[i].n.date_due = ND_NO_TIME;
		e = nd_svc_notification_create(c, &items[i].n, &items[i].to, &deliveries);
	}
	if (!e)
		e = nd_svc_event_record(c, "alice", items[0].n.key, ND_EV_IMPRESSION,
					now - 20 * day);
	if (!e)
		e = nd_svc_event_record(c, "alice", items[0].n.key, ND_EV_READ, now - 20 * day);
	*seeded = !e;
	return e;
}
