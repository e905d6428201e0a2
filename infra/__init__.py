"""The Pulumi program that provisions the platform, one component per part."""
