// Leaving the app for another page (the OIDC provider's logout). One object so that
// tests can watch it: jsdom cannot navigate.
export const browser = {
  leaveTo(url: string): void {
    window.location.assign(url);
  },
};
