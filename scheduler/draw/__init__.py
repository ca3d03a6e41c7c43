"""DSR-1, the draw of entities to inspect (抽取检查对象): the rule, the fast engine, certificates, the draw service and scheduled runs."""
