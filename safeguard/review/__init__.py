"""The review workspace: examiners grade unknown pictures in the browser, blurred by default."""
