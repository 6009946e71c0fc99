"""AWS CDK v2 constructs for the Stockscreen stack (one construct per concern)."""
