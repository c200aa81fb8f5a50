"""Domain operations shared by views, flows and jobs."""
