//! Inventory snapshot readers (`--inventory`): generic CSV, Shopify CSV, JSON, YAML.
