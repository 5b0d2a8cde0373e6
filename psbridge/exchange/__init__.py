"""Exchange Online and Exchange Server wrappers."""
