"""REDCap compatibility: project metadata in REDCap's terms and an API that REDCap clients use unchanged."""
