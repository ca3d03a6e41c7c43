"""Plans (抽查计划): the plan rules of the policy (ratios, caps, risk classes, frequency, team size), schedules, and the plan service."""
