"""Genesis: chain-spec presets as JSON, their validation, and building the genesis state and block."""
