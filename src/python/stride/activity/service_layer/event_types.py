"""The events Activity publishes, by type (their payloads: `stride.activity.events.v1`)."""

SESSION_COMPLETED = "activity.session.completed.v1"
PERSONAL_RECORD_SET = "activity.personal_record.set.v1"
GOAL_ACHIEVED = "activity.goal.achieved.v1"
STREAK_EXTENDED = "activity.streak.extended.v1"
STREAK_BROKEN = "activity.streak.broken.v1"
