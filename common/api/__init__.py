"""HTTP plumbing shared by every router: dependencies and error rendering."""
