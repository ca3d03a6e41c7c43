"""Inspector matching (执法检查人员随机匹配), the second random: the rule, the fast engine, its package part and the team service."""
