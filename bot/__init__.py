"""Pre-consultation assistant for micro-needling clinics: screening, storage, language and staff web app."""
