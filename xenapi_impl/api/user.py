"""user.*: the model's (deprecated) user class is fully implicit; logins use the store's
credentials, managed with `xenapi-server user ...`."""
