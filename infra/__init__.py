"""The CDK app: typed config, one construct per concern, stacks that only compose them."""
