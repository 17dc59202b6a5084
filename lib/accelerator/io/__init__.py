"""Lake layout and storage access, the same for local folders and abfss:// URLs."""
